using System.ComponentModel.DataAnnotations;
using Distill.Config;

namespace Distill.Training.Config.Schema;

/// <summary>
/// Augmentation of training crops. Defaults are the RTMPose COCO recipe's first stage: probabilities in [0, 1],
/// shift as a fraction of the box, scale as a multiplier range, rotation in degrees.
/// </summary>
public sealed class PipelineOptions : IValidatable
{
    [Range(0.0, 1.0)]
    public double FlipProb { get; set; } = 0.5;

    [Range(0.0, 1.0)]
    public double HalfBodyProb { get; set; } = 0.3;

    [Range(0.0, 1.0)]
    public double ShiftFactor { get; set; } = 0.16;

    [Range(0.0, 1.0)]
    public double ShiftProb { get; set; } = 0.3;

    /// <summary>[lo, hi] box scale multipliers.</summary>
    [Length(2, 2)]
    [Range(0.0, 10.0, MinimumIsExclusive = true)]
    public double[] ScaleFactor { get; set; } = [0.6, 1.4];

    /// <summary>Maximum rotation in degrees.</summary>
    [Range(0.0, 180.0)]
    public double RotateFactor { get; set; } = 80;

    [Range(0.0, 1.0)]
    public double RotateProb { get; set; } = 0.6;

    public HsvOptions Hsv { get; set; } = new();

    [Range(0.0, 1.0)]
    public double BlurProb { get; set; } = 0.1;

    [Range(0.0, 1.0)]
    public double MedianBlurProb { get; set; } = 0.1;

    /// <summary>Probability of cutting one hole out of the crop.</summary>
    [Range(0.0, 1.0)]
    public double DropoutProb { get; set; } = 1.0;

    /// <summary>[lo, hi] hole side as a fraction of the crop side.</summary>
    [Length(2, 2)]
    [Range(0.0, 1.0)]
    public double[] DropoutSize { get; set; } = [0.2, 0.4];

    /// <summary>Box enlargement before cropping.</summary>
    [Range(1.0, 10.0)]
    public double Padding { get; set; } = 1.25;

    public IEnumerable<ValidationMessage> Validate()
    {
        if (ScaleFactor.Length == 2 && ScaleFactor[0] > ScaleFactor[1])
            yield return ValidationMessage.For("scale_factor", $"lo {ScaleFactor[0]} is above hi {ScaleFactor[1]}");
        if (DropoutSize.Length == 2 && DropoutSize[0] > DropoutSize[1])
            yield return ValidationMessage.For("dropout_size", $"lo {DropoutSize[0]} is above hi {DropoutSize[1]}");
    }
}
