using System.ComponentModel.DataAnnotations;
using Distill.Config;

namespace Distill.Training.Config.Schema;

/// <summary>The training loop.</summary>
[ConfigRenamed("two_stage", "self_distill", "'stage 2' is data.stage2_pipeline's late augmentation; self-distillation has a name of its own")]
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

    public SelfDistillOptions SelfDistill { get; set; } = new();

    public DistOptions Dist { get; set; } = new();

    /// <summary>
    /// Forward precision: fp32, or mixed precision through libtorch's autocast (matrix products and convolutions in
    /// bf16 or fp16, parameters and optimizer state float32). fp16 needs CUDA and scales the loss dynamically.
    /// </summary>
    public Precision Precision { get; set; } = Precision.Fp32;
}

public enum Precision
{
    [ConfigName("fp32")]
    Fp32,

    [ConfigName("bf16")]
    Bf16,

    [ConfigName("fp16")]
    Fp16,
}

/// <summary>
/// DWPose's head-only self-distillation: after the main run, the trained student becomes its own frozen teacher and
/// only its head is retrained on the frozen backbone, for <see cref="Epochs"/> more epochs.
/// </summary>
public sealed class SelfDistillOptions
{
    public bool Enabled { get; set; }

    [Range(1, 100000)]
    public int Epochs { get; set; } = 60;

    /// <summary>Logit-distillation weight of the self-teacher.</summary>
    [Range(0.0, double.MaxValue)]
    public double LogitWeight { get; set; } = 1.0;
}
