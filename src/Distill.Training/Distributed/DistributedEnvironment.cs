using System.Globalization;
using Distill.Training.Engine;

namespace Distill.Training.Distributed;

/// <summary>
/// Where this process sits in a data-parallel run, as torchrun (and <c>distill train --nproc-per-node</c>) describe it
/// in the environment: RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT, and, when the
/// launcher itself hosts the rendezvous store, TORCHELASTIC_USE_AGENT_STORE with TORCHELASTIC_RESTART_COUNT.
/// </summary>
public sealed record DistributedEnvironment
{
    public required int Rank { get; init; }
    public required int WorldSize { get; init; }
    public int LocalRank { get; init; }
    public int LocalWorldSize { get; init; } = 1;
    public string MasterAddr { get; init; } = "127.0.0.1";
    public int MasterPort { get; init; } = 29500;
    /// <summary>The launcher hosts the store on MASTER_ADDR:MASTER_PORT; every worker, rank 0 included, is a client.</summary>
    public bool AgentStore { get; init; }
    public int RestartCount { get; init; }

    /// <summary>The store key prefix torchrun's workers use: one namespace per restart attempt.</summary>
    public string StorePrefix => $"/worker/attempt_{RestartCount}";

    /// <summary>The environment's description, or null when WORLD_SIZE is not set (a plain single-process run).</summary>
    public static DistributedEnvironment? FromEnvironment(Func<string, string?>? getenv = null)
    {
        getenv ??= Environment.GetEnvironmentVariable;
        if (string.IsNullOrEmpty(getenv("WORLD_SIZE"))) return null;
        int world = Int(getenv, "WORLD_SIZE", null, 1);
        int rank = Int(getenv, "RANK", null, 0);
        if (rank >= world) throw new TrainingException($"environment: RANK={rank} is not below WORLD_SIZE={world}");
        int localWorld = Int(getenv, "LOCAL_WORLD_SIZE", world, 1);
        int localRank = Int(getenv, "LOCAL_RANK", rank % localWorld, 0);
        if (localRank >= localWorld) throw new TrainingException($"environment: LOCAL_RANK={localRank} is not below LOCAL_WORLD_SIZE={localWorld}");
        int port = Int(getenv, "MASTER_PORT", 29500, 1);
        if (port > 65535) throw new TrainingException($"environment: MASTER_PORT={port} is not a TCP port");
        return new DistributedEnvironment
        {
            Rank = rank,
            WorldSize = world,
            LocalRank = localRank,
            LocalWorldSize = localWorld,
            MasterAddr = getenv("MASTER_ADDR") is { Length: > 0 } a ? a : "127.0.0.1",
            MasterPort = port,
            AgentStore = string.Equals(getenv("TORCHELASTIC_USE_AGENT_STORE"), "true", StringComparison.OrdinalIgnoreCase),
            RestartCount = Int(getenv, "TORCHELASTIC_RESTART_COUNT", 0, 0),
        };
    }

    private static int Int(Func<string, string?> getenv, string name, int? fallback, int min)
    {
        var s = getenv(name);
        if (string.IsNullOrEmpty(s))
            return fallback ?? throw new TrainingException($"environment: {name} must be set when WORLD_SIZE is (a data-parallel worker)");
        if (!int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out int v) || v < min)
            throw new TrainingException($"environment: {name}='{s}' is not an integer >= {min}");
        return v;
    }

    /// <summary>Whether <paramref name="host"/> is this machine's loopback (then Gloo binds to 127.0.0.1 too).</summary>
    public static bool IsLoopback(string host) =>
        host == "localhost" || (System.Net.IPAddress.TryParse(host, out var ip) && System.Net.IPAddress.IsLoopback(ip));
}
