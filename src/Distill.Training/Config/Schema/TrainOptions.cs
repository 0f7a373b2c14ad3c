using System.ComponentModel.DataAnnotations;

namespace Distill.Training.Config.Schema;

/// <summary>The training loop.</summary>
public sealed class TrainOptions
{
    [Range(1, 100000)]
    public int MaxEpochs { get; set; } = 210;

    /// <summary>Validate every this many epochs.</summary>
    [Range(1, 100000)]
    public int ValInterval { get; set; } = 10;

    /// <summary>Log training losses every this many iterations.</summary>
    [Range(1, int.MaxValue)]
    public int LogInterval { get; set; } = 50;

    public TwoStageOptions TwoStage { get; set; } = new();
}

/// <summary>
/// DWPose's second stage: after the main run, the trained student becomes its own teacher and only its head is
/// retrained on the frozen backbone.
/// </summary>
public sealed class TwoStageOptions
{
    public bool Enabled { get; set; }

    [Range(1, 100000)]
    public int Epochs { get; set; } = 60;

    /// <summary>Logit-distillation weight of the self-teacher.</summary>
    [Range(0.0, double.MaxValue)]
    public double LogitWeight { get; set; } = 1.0;
}
