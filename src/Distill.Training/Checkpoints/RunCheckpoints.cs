using System.Globalization;
using System.Text.Json;
using Distill.Pose.Models;
using Distill.Torch.Nn;
using Distill.Torch.Optim;
using Distill.Torch.Serialization;
using Distill.Training.Engine;

namespace Distill.Training.Checkpoints;

/// <summary>Which checkpoints a run keeps (plain values from the checkpoint section of the config).</summary>
public sealed record CheckpointSettings
{
    /// <summary>Write epoch_N every this many epochs of a stage (and at its end).</summary>
    public int Interval { get; init; } = 10;

    /// <summary>Periodic checkpoints to keep; 0 keeps them all.</summary>
    public int KeepLast { get; init; } = 3;

    public bool SaveBest { get; init; } = true;

    /// <summary>Include optimizer and scheduler state, so the run can resume.</summary>
    public bool SaveOptimizer { get; init; } = true;
}

/// <summary>
/// The checkpoints of one run directory: writing them with the run's metadata, finding the one a resume starts
/// from, and pruning old periodic ones. The main run rolls last.safetensors; self-distillation rolls
/// self_distill.safetensors beside it.
/// </summary>
public sealed class RunCheckpoints(string runDirectory, CheckpointSettings settings, IReadOnlyDictionary<string, string> metadata, bool writes = true)
{
    /// <summary>Checkpoint metadata key holding the stage ("1" main run, "2" self-distillation) the checkpoint was written in.</summary>
    public const string StageKey = "distill.stage";

    /// <summary>The main run's rolling checkpoint; after self-distillation it still holds the end of the main run.</summary>
    public const string LastFile = "last.safetensors";

    /// <summary>Self-distillation's rolling checkpoint, and its result once it has finished.</summary>
    public const string SelfDistillFile = "self_distill.safetensors";

    public const string BestFile = "best.safetensors";

    public CheckpointSettings Settings => settings;

    public string PathOf(string file) => Path.Combine(runDirectory, file);

    /// <summary>The best checkpoint when the directory has one (a resumed run keeps ranking against it).</summary>
    public string? ExistingBest => File.Exists(PathOf(BestFile)) ? PathOf(BestFile) : null;

    /// <summary>
    /// Writes one checkpoint: the student, its EMA (main run only), the distiller's modules, optimizer and schedule
    /// (unless checkpoint.save_optimizer is off), the EMA counter, the state and the run's metadata with the stage.
    /// </summary>
    public void Save(string path, int stage, Module student, Module? ema, IEnumerable<(string Name, Module Module)> kdModules,
        Optimizer optimizer, ScheduleChain schedule, ExpMomentumEma? emaState, TrainingState state)
    {
        if (!writes) return; // a data-parallel worker other than rank 0: the run directory is rank 0's
        var meta = new Dictionary<string, string>(metadata) { [StageKey] = stage.ToString(CultureInfo.InvariantCulture) };
        try
        {
            CheckpointStore.Save(path, student, ema, kdModules, settings.SaveOptimizer ? optimizer : null, schedule, emaState, state, meta);
        }
        catch (IOException e)
        {
            throw new TrainingException($"cannot write checkpoint {path} ({e.Message}); is the disk full? The last good checkpoint is kept.", e);
        }
    }

    /// <summary>An explicit path, or the run directory's newest rolling checkpoint: self-distillation's once it has written one.</summary>
    public string ResumePath(string resume)
    {
        if (resume.Length > 0)
        {
            var explicitPath = Path.GetFullPath(resume);
            if (!File.Exists(explicitPath)) throw new TrainingException($"--resume: no checkpoint at {explicitPath}");
            return explicitPath;
        }
        var last = PathOf(LastFile);
        var second = PathOf(SelfDistillFile);
        // Self-distillation leaves last.safetensors as the main run ended it, so the file with more optimizer steps is where the run stands.
        if (File.Exists(second) && (!File.Exists(last) || IterationOf(second) >= IterationOf(last))) return second;
        if (!File.Exists(last)) throw new TrainingException($"--resume: no checkpoint at {last}");
        return last;
    }

    private static long IterationOf(string path)
    {
        var meta = SafeTensors.ReadHeader(path).Metadata;
        if (!meta.TryGetValue(CheckpointStore.StateKey, out var json))
            throw new TrainingException($"--resume: {path} is not a Distill training checkpoint (no '{CheckpointStore.StateKey}' metadata)");
        return JsonSerializer.Deserialize<TrainingState>(json)?.Iteration
            ?? throw new TrainingException($"--resume: {path} has an unreadable training state");
    }

    /// <summary>The stage a checkpoint was written in; checkpoints written before stages were recorded belong to the main run.</summary>
    public static int StageOf(TrainingCheckpoint ckpt, string path) =>
        !ckpt.Metadata.TryGetValue(StageKey, out var s) ? 1 : s switch
        {
            "1" => 1,
            "2" => 2,
            _ => throw new TrainingException($"--resume: {path} names stage '{s}' in its '{StageKey}' metadata; expected 1 or 2"),
        };

    /// <summary>Keeps the newest checkpoint.keep_last epoch_N files.</summary>
    public void Prune()
    {
        if (!writes || settings.KeepLast <= 0) return;
        var periodic = Directory.GetFiles(runDirectory, "epoch_*.safetensors")
            .Select(f => (File: f, Epoch: int.TryParse(Path.GetFileNameWithoutExtension(f)["epoch_".Length..], out var e) ? e : -1))
            .Where(x => x.Epoch >= 0).OrderByDescending(x => x.Epoch).Skip(settings.KeepLast);
        foreach (var (file, _) in periodic) File.Delete(file);
    }
}
