using System.ComponentModel.DataAnnotations;

namespace Distill.Training.Config.Schema;

public enum GtLossType
{
    KLDiscretLoss,
    KeypointMSELoss,
    RegressionMSE,
}

/// <summary>How distillation terms are reduced; the choice changes their scale relative to the ground-truth loss.</summary>
public enum KdReduction
{
    /// <summary>DWPose: summed over bins and keypoints, mean over the batch, divided by the keypoint count.</summary>
    [ConfigName("dwpose")]
    DwPose,

    /// <summary>Summed over bins, mean over batch and keypoints (PyTorch's batchmean per keypoint row).</summary>
    [ConfigName("batchmean")]
    BatchMean,

    /// <summary>Mean over every element.</summary>
    [ConfigName("mean")]
    Mean,

    [ConfigName("sum")]
    Sum,
}

/// <summary>How a distillation weight changes over training.</summary>
public enum WeightSchedule
{
    [ConfigName("constant")]
    Constant,

    /// <summary>weight x (1 - epoch / max_epochs), as DWPose's first stage.</summary>
    [ConfigName("linear")]
    Linear,

    /// <summary>weight x (1 + cos(pi x epoch / max_epochs)) / 2.</summary>
    [ConfigName("cosine")]
    Cosine,
}

/// <summary>
/// Loss terms. The total is gt.weight x GT loss + sum over teachers of logit_kd.weight x teacher.weight x
/// teacher.logit_weight x logit KD + feature_kd.weight x teacher.weight x teacher.feature_weight x feature KD.
/// </summary>
public sealed class LossesOptions
{
    public GtLossOptions Gt { get; set; } = new();

    public LogitKdOptions LogitKd { get; set; } = new();

    public FeatureKdOptions FeatureKd { get; set; } = new();
}

/// <summary>The supervised loss against annotations.</summary>
public sealed class GtLossOptions
{
    public GtLossType Type { get; set; } = GtLossType.KLDiscretLoss;

    [Range(0.0, double.MaxValue)]
    public double Weight { get; set; } = 1.0;

    /// <summary>Logit scale inside the KL loss's softmax.</summary>
    [Range(0.0, double.MaxValue, MinimumIsExclusive = true)]
    public double Beta { get; set; } = 10.0;

    /// <summary>Apply the softmax to SimCC labels too (label_softmax in mmpose).</summary>
    public bool LabelSoftmax { get; set; } = true;

    /// <summary>Weight each keypoint's term by its target weight (0 for unlabelled keypoints).</summary>
    public bool UseTargetWeight { get; set; } = true;
}

/// <summary>Distillation of the head's outputs (SimCC logits or heatmaps).</summary>
public sealed class LogitKdOptions : IValidatable
{
    [Range(0.0, double.MaxValue)]
    public double Weight { get; set; } = 1.0;

    /// <summary>Logit scale before the softmax (DWPose: 10). Give this or <see cref="Temperature"/>, not both.</summary>
    [Range(0.0, double.MaxValue, MinimumIsExclusive = true)]
    public double? Beta { get; set; }

    /// <summary>Softmax temperature, the reciprocal of <see cref="Beta"/>.</summary>
    [Range(0.0, double.MaxValue, MinimumIsExclusive = true)]
    public double? Temperature { get; set; }

    public KdReduction Reduction { get; set; } = KdReduction.DwPose;

    /// <summary>Leave out keypoints the student's annotations do not label (DWPose distils every keypoint).</summary>
    public bool MaskUnknown { get; set; }

    public WeightSchedule Schedule { get; set; } = WeightSchedule.Constant;

    /// <summary>The logit multiplier in effect: beta, else 1 / temperature, else 10.</summary>
    public double EffectiveBeta => Beta ?? (Temperature is { } t ? 1.0 / t : 10.0);

    public IEnumerable<ValidationMessage> Validate()
    {
        if (Beta is not null && Temperature is not null)
            yield return ValidationMessage.For("temperature", "give beta or temperature, not both (beta = 1 / temperature)");
    }
}

/// <summary>Distillation of backbone features through a 1x1 alignment convolution.</summary>
public sealed class FeatureKdOptions
{
    /// <summary>0 disables feature distillation (DWPose uses 7e-5 with its sum-over-elements loss).</summary>
    [Range(0.0, double.MaxValue)]
    public double Weight { get; set; }

    public WeightSchedule Schedule { get; set; } = WeightSchedule.Constant;
}
