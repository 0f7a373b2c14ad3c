namespace Distill.Training.Engine;

/// <summary>How a run was asked to start.</summary>
public sealed record TrainingRequest
{
    public required string ConfigPath { get; init; }
    public IReadOnlyList<string> Overrides { get; init; } = [];
    public string? WorkDir { get; init; }
    /// <summary>null: fresh run; "": resume from the work directory's last checkpoint; otherwise a checkpoint path.</summary>
    public string? Resume { get; init; }
    /// <summary>
    /// The work directory, already locked by the host (so that it can open train.log there only once the directory is
    /// its own); the run takes it over and releases it. Null: the run locks the directory itself.
    /// </summary>
    public RunDirectory? LockedRun { get; init; }
}

/// <summary>What a finished (or stopped) run reports.</summary>
public sealed record TrainingResult(string WorkDir, bool Completed, int EpochsDone, long Iterations, double WallSeconds,
    double ImagesPerSecond, IReadOnlyDictionary<string, double> LastMetrics, string? BestCheckpoint, string LastCheckpoint);

/// <summary>A training failure with one clear message (bad loss, full disk, locked work directory, ...).</summary>
public sealed class TrainingException(string message, Exception? inner = null) : Exception(message, inner);
