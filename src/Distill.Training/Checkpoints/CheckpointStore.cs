using Distill.Pose.Models.Checkpoints;
using System.Text.Json;
using System.Text.Json.Nodes;
using Distill.Torch;
using Distill.Torch.Nn;
using Distill.Torch.Optim;
using Distill.Torch.Serialization;

namespace Distill.Training.Checkpoints;

/// <summary>Where a run stands: enough, with the tensors, to continue exactly.</summary>
public sealed record TrainingState
{
    /// <summary>Epoch being trained (0-based); with <see cref="BatchInEpoch"/> > 0 the run stopped inside it.</summary>
    public int Epoch { get; init; }
    /// <summary>Batches of <see cref="Epoch"/> already trained.</summary>
    public int BatchInEpoch { get; init; }
    /// <summary>Optimizer steps taken so far.</summary>
    public long Iteration { get; init; }
    public double? BestMetric { get; init; }
    public int? BestEpoch { get; init; }
    public string? BestMetricName { get; init; }
    public string ConfigHash { get; init; } = "";
    public double WallSeconds { get; init; }
    /// <summary>Data-parallel workers that wrote it (null: one); <see cref="BatchInEpoch"/> counts batches of each of them.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public int? WorldSize { get; init; }
}

/// <summary>A training checkpoint read back: state, metadata and tensors by prefix.</summary>
public sealed class TrainingCheckpoint : IDisposable
{
    public required TrainingState State { get; init; }
    public required Dictionary<string, string> Metadata { get; init; }
    public required OrderedDictionary<string, Tensor> Tensors { get; init; }

    /// <summary>The tensors under a prefix, with the prefix removed (they still belong to this checkpoint).</summary>
    public Dictionary<string, Tensor> WithPrefix(string prefix) =>
        Tensors.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key[prefix.Length..], kv => kv.Value, StringComparer.Ordinal);

    public void Dispose()
    {
        foreach (var t in Tensors.Values) t.Dispose();
    }
}

/// <summary>
/// Distill's checkpoint: one safetensors file (written to a temporary name and renamed, so a kill at any moment leaves
/// the previous file intact) with the student under "student.", its EMA under "ema.student.", distillation modules
/// under "kd.", optimizer state under "optimizer.", and JSON metadata (state, optimizer groups, schedule, EMA, RNG,
/// keypoint set, codec, config).
/// </summary>
public static class CheckpointStore
{
    public const string StateKey = "distill.state";

    public static void Save(string path, Module student, Module? ema, IEnumerable<(string Name, Module Module)> kdModules,
        Optimizer? optimizer, ScheduleChain? schedule, ExpMomentumEma? emaState, TrainingState state,
        IReadOnlyDictionary<string, string> extraMetadata)
    {
        var tensors = new List<KeyValuePair<string, Tensor>>();
        foreach (var (k, v) in student.StateDict()) tensors.Add(new(WeightsLoader.StudentPrefix + k, v));
        if (ema is not null)
            foreach (var (k, v) in ema.StateDict()) tensors.Add(new(WeightsLoader.EmaPrefix + WeightsLoader.StudentPrefix + k, v));
        foreach (var (name, m) in kdModules)
            foreach (var (k, v) in m.StateDict()) tensors.Add(new($"kd.{name}.{k}", v));
        OptimizerStateDict? opt = null;
        var meta = new Dictionary<string, string>(extraMetadata, StringComparer.Ordinal)
        {
            [StateKey] = JsonSerializer.Serialize(state),
            ["distill.rng"] = Convert.ToBase64String(torch.GetRngState()),
            ["format"] = "distill-checkpoint-1",
        };
        try
        {
            if (optimizer is not null)
            {
                opt = optimizer.StateDict();
                foreach (var (k, v) in opt.Tensors) tensors.Add(new("optimizer." + k, v));
                meta["distill.optimizer"] = opt.Metadata.ToJsonString();
            }
            if (schedule is not null) meta["distill.schedule"] = schedule.StateDict().ToJsonString();
            if (emaState is not null) meta["distill.ema"] = emaState.StateDict().ToJsonString();
            // A checkpoint is a promise of a usable model: one holding NaN or infinity is never written.
            var bad = NonFinite(tensors);
            if (bad.Count > 0)
                throw new NonFiniteStateException(path, bad, tensors.Count);
            var dir = Path.GetDirectoryName(Path.GetFullPath(path));
            if (dir is not null) Directory.CreateDirectory(dir);
            SafeTensors.Save(path, tensors, meta);
        }
        finally
        {
            opt?.Dispose();
        }
    }

    /// <summary>Names of the floating-point tensors that hold a NaN or an infinity, in order.</summary>
    public static List<string> NonFinite(IEnumerable<KeyValuePair<string, Tensor>> tensors)
    {
        var bad = new List<string>();
        foreach (var (name, t) in tensors)
        {
            if (!t.DType.IsFloatingPoint()) continue;
            using var finite = t.IsFinite();
            using var all = finite.All();
            if (all.ItemDouble() == 0) bad.Add(name);
        }
        return bad;
    }

    public static TrainingCheckpoint Load(string path)
    {
        var tensors = SafeTensors.Load(path, out var meta);
        if (!meta.TryGetValue(StateKey, out var stateJson))
        {
            foreach (var t in tensors.Values) t.Dispose();
            throw new InvalidDataException($"{path}: not a Distill training checkpoint (no '{StateKey}' metadata); it can still be used as weights");
        }
        return new TrainingCheckpoint
        {
            State = JsonSerializer.Deserialize<TrainingState>(stateJson) ?? throw new InvalidDataException($"{path}: unreadable training state"),
            Metadata = meta,
            Tensors = tensors,
        };
    }

    /// <summary>Restores optimizer, schedule, EMA counter and RNG from a checkpoint.</summary>
    public static void RestoreTraining(TrainingCheckpoint ckpt, Optimizer optimizer, ScheduleChain schedule, ExpMomentumEma? ema)
    {
        if (ckpt.Metadata.TryGetValue("distill.optimizer", out var optJson))
        {
            var tensors = ckpt.WithPrefix("optimizer.");
            optimizer.LoadStateDict(new OptimizerStateDict((JsonObject)JsonNode.Parse(optJson)!, tensors));
        }
        if (ckpt.Metadata.TryGetValue("distill.schedule", out var s)) schedule.LoadStateDict((JsonObject)JsonNode.Parse(s)!);
        if (ema is not null && ckpt.Metadata.TryGetValue("distill.ema", out var e)) ema.LoadStateDict((JsonObject)JsonNode.Parse(e)!);
        if (ckpt.Metadata.TryGetValue("distill.rng", out var rng)) torch.SetRngState(Convert.FromBase64String(rng));
    }
}

/// <summary>A checkpoint was not written because some of its tensors hold NaN or infinity.</summary>
public sealed class NonFiniteStateException(string path, IReadOnlyList<string> tensors, int total)
    : InvalidOperationException($"{System.IO.Path.GetFileName(path)} not written: {tensors.Count} of {total} tensors hold NaN or infinity " +
        $"({string.Join(", ", tensors.Take(3))}{(tensors.Count > 3 ? ", ..." : "")})")
{
    public string Path { get; } = path;
    public IReadOnlyList<string> Tensors { get; } = tensors;
}
