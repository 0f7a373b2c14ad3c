using Distill.Torch.Interop;

namespace Distill.Torch.Distributed;

/// <summary>Reductions of <see cref="ProcessGroup.AllReduce"/>. There is no average: Gloo lacks it, so callers sum and divide.</summary>
public enum ReduceOp
{
    Sum = 0,
    Product = 2,
    Min = 3,
    Max = 4,
}

/// <summary>Where a Gloo process group's transport listens.</summary>
public sealed record GlooDevice
{
    /// <summary>Comma-separated network interfaces (GLOO_SOCKET_IFNAME); wins over <see cref="Hostname"/>.</summary>
    public string? Interfaces { get; init; }
    /// <summary>A host name or address of this machine to bind to; null with no interfaces binds to the machine's hostname.</summary>
    public string? Hostname { get; init; }
}

/// <summary>
/// A c10d process group: <see cref="Size"/> processes that run the same collectives in the same order. Every
/// collective blocks until done and throws a <see cref="TorchException"/> when a peer failed or did not answer
/// within the group's timeout. Tensors are updated in place.
/// </summary>
public sealed class ProcessGroup : IDisposable
{
    internal ProcessGroupHandle Handle { get; }
    public int Rank { get; }
    public int Size { get; }
    public TimeSpan Timeout { get; }

    private ProcessGroup(ProcessGroupHandle handle, int rank, int size, TimeSpan timeout)
    {
        if (handle.IsInvalid) throw Native.TakeError();
        Handle = handle;
        Rank = rank;
        Size = size;
        Timeout = timeout;
    }

    /// <summary>Whether the native library was built with c10d's Gloo process group.</summary>
    public static bool IsAvailable => Native.distill_dist_available() == 1;

    /// <summary>
    /// Joins the Gloo group of <paramref name="size"/> processes that rendezvous in <paramref name="store"/>. Every
    /// collective fails after <paramref name="timeout"/> without progress (c10d's own default is 30 minutes).
    /// </summary>
    public static ProcessGroup Gloo(Store store, int rank, int size, TimeSpan timeout, GlooDevice? device = null, int threads = 0)
    {
        if (rank < 0 || rank >= size) throw new ArgumentOutOfRangeException(nameof(rank), $"rank {rank} is outside a group of {size}");
        return new ProcessGroup(
            Native.distill_pg_gloo(store.Handle, rank, size, (long)timeout.TotalMilliseconds, device?.Interfaces, device?.Hostname, threads),
            rank, size, timeout);
    }

    /// <summary>Copies <paramref name="root"/>'s tensor into every other rank's.</summary>
    public void Broadcast(Tensor tensor, int root = 0)
    {
        // Gloo divides by the element count: an empty tensor (the same on every rank) has nothing to send.
        if (tensor.NumEl == 0) return;
        using var h = Handles([tensor]);
        Native.Check(Native.distill_pg_broadcast(Handle, h.Pointers, h.Length, root));
    }

    /// <summary>Copies <paramref name="root"/>'s tensors into every other rank's, one collective each.</summary>
    public void Broadcast(IReadOnlyList<Tensor> tensors, int root = 0)
    {
        foreach (var t in tensors) Broadcast(t, root);
    }

    /// <summary>Broadcasts many tensors (e.g. a module's state) from <paramref name="root"/> in flat chunks of at most <paramref name="bufferBytes"/>.</summary>
    public void BroadcastCoalesced(IReadOnlyList<Tensor> tensors, long bufferBytes = 250L << 20, int root = 0)
    {
        if (tensors.Count == 0) return;
        using var h = Handles(tensors);
        Native.Check(Native.distill_pg_broadcast_coalesced(Handle, h.Pointers, h.Length, bufferBytes, root));
    }

    /// <summary>Reduces each tensor element-wise over all ranks and leaves the result on every rank.</summary>
    public void AllReduce(IReadOnlyList<Tensor> tensors, ReduceOp op = ReduceOp.Sum)
    {
        tensors = tensors.Where(t => t.NumEl > 0).ToList(); // empty tensors have nothing to reduce (and stop Gloo)
        if (tensors.Count == 0) return;
        using var h = Handles(tensors);
        Native.Check(Native.distill_pg_allreduce(Handle, h.Pointers, h.Length, (int)op));
    }

    public void AllReduce(Tensor tensor, ReduceOp op = ReduceOp.Sum) => AllReduce([tensor], op);

    /// <summary>Every rank's <paramref name="input"/> (same shape and dtype on all ranks), in rank order.</summary>
    public Tensor[] AllGather(Tensor input)
    {
        var outputs = new Tensor[Size];
        try
        {
            for (int r = 0; r < Size; r++) outputs[r] = torch.ZerosLike(input);
            // An empty input is empty on every rank (same shape everywhere); Gloo would divide by its zero size.
            if (input.NumEl == 0) return outputs;
            using var h = Handles(outputs);
            Native.Check(Native.distill_pg_allgather(Handle, input.Handle, h.Pointers, h.Length));
            return outputs;
        }
        catch
        {
            foreach (var t in outputs) t?.Dispose();
            throw;
        }
    }

    public void Barrier() => Native.Check(Native.distill_pg_barrier(Handle));

    /// <summary>A barrier in which rank 0 throws naming the ranks that did not arrive within <paramref name="timeout"/>.</summary>
    public void MonitoredBarrier(TimeSpan timeout) => Native.Check(Native.distill_pg_monitored_barrier(Handle, (long)timeout.TotalMilliseconds));

    /// <summary>
    /// Training-mode batch normalisation whose per-channel statistics cover the batches of every rank (PyTorch's
    /// SyncBatchNorm, on any device): the forward all-reduces each channel's sum, sum of squares and count, the
    /// backward the sums of the output gradient and of its product with the centred input. Updates the running
    /// statistics like BatchNorm. Every rank must call it at the same point and run its backward.
    /// </summary>
    public Tensor SyncBatchNorm(Tensor x, Tensor? runningMean, Tensor? runningVar, Tensor? weight, Tensor? bias, double momentum = 0.1, double eps = 1e-5) =>
        Tensor.FromRaw(Native.distill_sync_batch_norm(Handle, x.Handle, weight?.Handle ?? TensorHandle.Null, bias?.Handle ?? TensorHandle.Null,
            runningMean?.Handle ?? TensorHandle.Null, runningVar?.Handle ?? TensorHandle.Null, momentum, eps));

    private static HandleArray Handles(IReadOnlyList<Tensor> tensors)
    {
        var h = new HandleArray(tensors.Count);
        for (int i = 0; i < tensors.Count; i++) h.Set(i, tensors[i]);
        return h;
    }

    public void Dispose() => Handle.Dispose();
}
