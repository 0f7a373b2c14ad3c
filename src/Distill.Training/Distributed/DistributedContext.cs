using Distill.Torch;
using Distill.Torch.Distributed;
using Distill.Training.Config.Schema;
using Distill.Training.Engine;
using Microsoft.Extensions.Logging;

namespace Distill.Training.Distributed;

/// <summary>
/// The data-parallel side of a run: this process's rank among <see cref="WorldSize"/> workers and the process group
/// they share. <see cref="Single"/> stands for a plain one-process run, in which every helper here is the identity,
/// so the loop calls them unconditionally.
/// </summary>
public sealed class DistributedContext : IDisposable
{
    /// <summary>A run of one process: no group, rank 0 of 1.</summary>
    public static DistributedContext Single { get; } = new(0, 1, 0, 1, null, []);

    public int Rank { get; }
    public int WorldSize { get; }
    public int LocalRank { get; }
    public int LocalWorldSize { get; }
    /// <summary>The process group; null in a single-process run.</summary>
    public ProcessGroup? Group { get; }
    /// <summary>Rank 0, the one worker that writes the run directory.</summary>
    public bool IsMain => Rank == 0;
    public bool IsDistributed => Group is not null;

    private readonly IDisposable[] _owned;

    private DistributedContext(int rank, int world, int localRank, int localWorld, ProcessGroup? group, IDisposable[] owned)
    {
        Rank = rank;
        WorldSize = world;
        LocalRank = localRank;
        LocalWorldSize = localWorld;
        Group = group;
        _owned = owned;
    }

    /// <summary>
    /// Joins the group the environment describes: rank 0 hosts the TCP store on MASTER_ADDR:MASTER_PORT unless the
    /// launcher already does (then every rank is a client under torchrun's per-attempt key prefix).
    /// </summary>
    public static DistributedContext Join(DistributedEnvironment env, DistOptions options, bool cudaDevice, ILogger log)
    {
        if (env.WorldSize == 1) return new DistributedContext(0, 1, 0, 1, null, []);
        var backend = options.Backend;
        if (backend == DistBackend.Nccl)
            throw new TrainingException("train.dist.backend: nccl is not available in this libtorch build; use gloo (or auto)");
        if (cudaDevice && backend == DistBackend.Auto)
            log.LogWarning("train.dist.backend auto: this libtorch has no NCCL, so the CUDA run communicates through Gloo");
        if (!ProcessGroup.IsAvailable)
            throw new TrainingException("data-parallel training needs the native library built with Gloo (install libgloo-dev and rebuild)");
        var timeout = TimeSpan.FromSeconds(options.TimeoutS);
        var owned = new List<IDisposable>();
        try
        {
            Store store;
            try
            {
                if (env.AgentStore)
                {
                    var tcp = TcpStore.Connect(env.MasterAddr, env.MasterPort, timeout);
                    owned.Add(tcp);
                    store = new PrefixStore(env.StorePrefix, tcp);
                }
                else store = env.Rank == 0 ? new TcpStore(env.MasterAddr, env.MasterPort, isServer: true, env.WorldSize, timeout, waitWorkers: false)
                    : TcpStore.Connect(env.MasterAddr, env.MasterPort, timeout);
                owned.Add(store);
            }
            catch (TorchException e)
            {
                throw new TrainingException($"rank {env.Rank}: cannot reach the rendezvous store at {env.MasterAddr}:{env.MasterPort}: {FirstLine(e.Message)}", e);
            }
            // Python reads GLOO_SOCKET_IFNAME in its binding, not in libtorch, so it is honoured here.
            var device = Environment.GetEnvironmentVariable("GLOO_SOCKET_IFNAME") is { Length: > 0 } ifs ? new GlooDevice { Interfaces = ifs }
                : DistributedEnvironment.IsLoopback(env.MasterAddr) ? new GlooDevice { Hostname = "127.0.0.1" }
                : null;
            ProcessGroup group;
            try
            {
                group = ProcessGroup.Gloo(store, env.Rank, env.WorldSize, timeout, device);
            }
            catch (TorchException e)
            {
                throw new TrainingException($"rank {env.Rank}: the {env.WorldSize} workers did not all join within train.dist.timeout_s ({options.TimeoutS} s): {FirstLine(e.Message)}", e);
            }
            owned.Insert(0, group);
            return new DistributedContext(env.Rank, env.WorldSize, env.LocalRank, env.LocalWorldSize, group, owned.ToArray());
        }
        catch
        {
            foreach (var d in owned) d.Dispose();
            throw;
        }
    }

    /// <summary>A context over an existing group, which the caller keeps owning (tests, or a group made by other means).</summary>
    public static DistributedContext Over(ProcessGroup group, int localRank = 0, int localWorldSize = 1) =>
        new(group.Rank, group.Size, localRank, localWorldSize, group, []);

    /// <summary>
    /// Copies rank 0's values of the given tensors (parameters and buffers) into every rank's, in place, as DDP does
    /// at construction; the tensors are detached first so that parameters can be written.
    /// </summary>
    public void BroadcastStates(IEnumerable<Tensor> tensors)
    {
        if (Group is null) return;
        var detached = tensors.Select(t => t.Detach()).ToList();
        try
        {
            Group.BroadcastCoalesced(detached);
        }
        finally
        {
            foreach (var t in detached) t.Dispose();
        }
    }

    /// <summary>The element-wise sum of <paramref name="values"/> over all ranks (a copy; the input is untouched).</summary>
    public double[] SumAll(double[] values)
    {
        if (Group is null || values.Length == 0) return (double[])values.Clone();
        using var t = torch.FromArray((double[])values.Clone(), [values.Length]);
        Group.AllReduce(t);
        return t.ToArray<double>();
    }

    /// <summary>The mean of each named value over all ranks; every rank must pass the same names.</summary>
    public Dictionary<string, double> MeanAll(IReadOnlyDictionary<string, double> values)
    {
        if (Group is null) return new Dictionary<string, double>(values);
        var keys = values.Keys.OrderBy(k => k, StringComparer.Ordinal).ToArray();
        var sums = SumAll(keys.Select(k => values[k]).ToArray());
        return keys.Select((k, i) => (k, sums[i] / WorldSize)).ToDictionary(x => x.k, x => x.Item2);
    }

    /// <summary>Every rank's <paramref name="values"/> (equal lengths on all ranks), in rank order.</summary>
    public double[][] AllGather(double[] values)
    {
        if (Group is null) return [(double[])values.Clone()];
        using var t = torch.FromArray((double[])values.Clone(), [values.Length]);
        var parts = Group.AllGather(t);
        try
        {
            return parts.Select(p => p.ToArray<double>()).ToArray();
        }
        finally
        {
            foreach (var p in parts) p.Dispose();
        }
    }

    /// <summary>Rank 0's bytes on every rank (other ranks pass anything, e.g. null).</summary>
    public byte[] Broadcast(byte[]? fromMain)
    {
        if (Group is null) return fromMain ?? [];
        using var len = torch.FromArray(new long[] { IsMain ? (fromMain ?? []).Length : 0 }, [1]);
        Group.Broadcast([len]);
        long n = len.ToArray<long>()[0];
        if (n == 0) return [];
        var buffer = IsMain ? fromMain! : new byte[n];
        using var t = torch.FromArray(buffer, [n]);
        Group.Broadcast([t]);
        return t.ToArray<byte>();
    }

    /// <summary>Rank 0's named values on every rank (metrics it alone computed, so that every worker decides alike).</summary>
    public Dictionary<string, double> ShareFromMain(IReadOnlyDictionary<string, double> values)
    {
        if (Group is null) return new Dictionary<string, double>(values, StringComparer.Ordinal);
        var bytes = Broadcast(IsMain
            ? System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(values.Select(kv => new[] { kv.Key, kv.Value.ToString("R", System.Globalization.CultureInfo.InvariantCulture) }))
            : null);
        var pairs = System.Text.Json.JsonSerializer.Deserialize<string[][]>(bytes) ?? [];
        return pairs.ToDictionary(p => p[0], p => double.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture), StringComparer.Ordinal);
    }

    public void Barrier() => Group?.Barrier();

    /// <summary>
    /// This rank's part of an epoch's order, as PyTorch's DistributedSampler cuts it: the order is padded to a multiple
    /// of the world size by repeating its start, then rank r takes every world-th index from position r. The parts
    /// are disjoint apart from the padding and together cover the order.
    /// </summary>
    public static int[] Shard(int[] order, int rank, int world)
    {
        if (world == 1) return order;
        if (order.Length == 0) return [];
        int perRank = (order.Length + world - 1) / world;
        var part = new int[perRank];
        for (int i = 0; i < perRank; i++) part[i] = order[(int)((rank + (long)i * world) % order.Length)];
        return part;
    }

    public int[] Shard(int[] order) => Shard(order, Rank, WorldSize);

    private static string FirstLine(string s) => s.Split('\n', 2)[0].Trim();

    public void Dispose()
    {
        foreach (var d in _owned) d.Dispose();
    }
}
