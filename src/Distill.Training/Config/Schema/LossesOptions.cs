using System.ComponentModel.DataAnnotations;
using Distill.Config;
using Distill.Pose.Losses;
using Distill.Training.Distillation;
using Distill.Pose.Models.Options;

namespace Distill.Training.Config.Schema;

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

    public KDReduction Reduction { get; set; } = KDReduction.DWPose;

    /// <summary>Leave out keypoints the student's annotations do not label (DWPose distils every keypoint).</summary>
    public bool MaskUnknown { get; set; }

    public WeightSchedule Schedule { get; set; } = WeightSchedule.Constant;

    /// <summary>Bottom-up students only: the weights of the CIF/CAF field terms by kind; null weighs each 1.</summary>
    public FieldKdOptions? Fields { get; set; }

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

    /// <summary>Bottom-up students only: which student backbone output is distilled (negative counts from the end; null: the last).</summary>
    public int? StudentIndex { get; set; }

    /// <summary>Bottom-up students only: which teacher backbone output it learns from (negative counts from the end; null: the last).</summary>
    public int? TeacherIndex { get; set; }
}

/// <summary>
/// Bottom-up field distillation (losses.logit_kd.fields): each CIF and CAF term is scaled by its kind's weight on top of
/// logit_kd.weight, the teacher's weight and logit_weight, and the schedule.
/// </summary>
public sealed class FieldKdOptions
{
    /// <summary>The confidence terms (cif.c, caf.c): binary KL divergence from the teacher's sigmoid.</summary>
    [Range(0.0, double.MaxValue)]
    public double Confidence { get; set; } = 1.0;

    /// <summary>The vector terms (cif.vec, caf.vec): L1 to the teacher's vectors, weighted by its confidence.</summary>
    [Range(0.0, double.MaxValue)]
    public double Vector { get; set; } = 1.0;

    /// <summary>The scale terms (cif.scales, caf.scales): L1 to the teacher's scales, weighted by its confidence.</summary>
    [Range(0.0, double.MaxValue)]
    public double Scale { get; set; } = 1.0;
}
