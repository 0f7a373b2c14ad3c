using System.ComponentModel.DataAnnotations;

namespace Distill.Training.Config.Schema;

/// <summary>Which checkpoints the run keeps.</summary>
public sealed class CheckpointOptions
{
    /// <summary>Save every this many epochs.</summary>
    [Range(1, 100000)]
    public int Interval { get; set; } = 10;

    /// <summary>Periodic checkpoints to keep; 0 keeps them all.</summary>
    [Range(0, int.MaxValue)]
    public int KeepLast { get; set; } = 3;

    /// <summary>Also keep the checkpoint with the best evaluation.best_metric.</summary>
    public bool SaveBest { get; set; } = true;

    /// <summary>Include optimizer and scheduler state so the run can resume.</summary>
    public bool SaveOptimizer { get; set; } = true;
}
