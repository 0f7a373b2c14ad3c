using System.ComponentModel.DataAnnotations;
using Distill.Config;

namespace Distill.Training.Config.Schema;

public enum OptimizerType
{
    AdamW,
    Adam,
    SGD,
}

/// <summary>Optimizer and gradient handling. Defaults follow the RTMPose recipe (AdamW, lr 4e-3, decay 0.05).</summary>
public sealed class OptimizerOptions : IValidatable
{
    public OptimizerType Type { get; set; } = OptimizerType.AdamW;

    /// <summary>Base learning rate (the schedule's peak).</summary>
    [Range(0.0, double.MaxValue, MinimumIsExclusive = true)]
    public double Lr { get; set; } = 4e-3;

    [Range(0.0, double.MaxValue)]
    public double WeightDecay { get; set; } = 0.05;

    /// <summary>Adam's (beta1, beta2).</summary>
    [Length(2, 2)]
    [Range(0.0, 1.0, MaximumIsExclusive = true)]
    public double[] Betas { get; set; } = [0.9, 0.999];

    [Range(0.0, double.MaxValue, MinimumIsExclusive = true)]
    public double Eps { get; set; } = 1e-8;

    /// <summary>SGD momentum.</summary>
    [Range(0.0, 1.0)]
    public double Momentum { get; set; } = 0.9;

    public bool Nesterov { get; set; }

    /// <summary>Weight-decay multiplier for normalisation weights (0: no decay, as RTMPose).</summary>
    [Range(0.0, double.MaxValue)]
    public double NormDecayMult { get; set; }

    /// <summary>Weight-decay multiplier for biases.</summary>
    [Range(0.0, double.MaxValue)]
    public double BiasDecayMult { get; set; }

    /// <summary>Gradient-norm clipping; null disables it.</summary>
    public ClipGradOptions? ClipGrad { get; set; }

    /// <summary>Clamp every gradient element to +-this before the step (OpenPifPaf's --clip-grad-value); null does not.</summary>
    [Range(0.0, double.MaxValue, MinimumIsExclusive = true)]
    public double? ClipGradValue { get; set; }

    /// <summary>Batches whose gradients are summed before one optimizer step.</summary>
    [Range(1, 65536)]
    public int AccumulateSteps { get; set; } = 1;

    /// <summary>
    /// Learning-rate multiplier of the student's <c>backbone.*</c> parameters (mmengine's paramwise lr_mult): below 1 a
    /// pre-trained backbone (model.backbone_checkpoint) moves slowly while new heads learn at the full rate; 0 freezes it.
    /// </summary>
    [Range(0.0, 100.0)]
    public double BackboneLrMult { get; set; } = 1.0;

    public IEnumerable<ValidationMessage> Validate()
    {
        if (Nesterov && (Type != OptimizerType.SGD || Momentum == 0))
            yield return ValidationMessage.For("nesterov", "Nesterov momentum needs type SGD with momentum > 0");
    }
}

/// <summary>Clip the global gradient norm to <see cref="MaxNorm"/>.</summary>
public sealed class ClipGradOptions
{
    [Range(0.0, double.MaxValue, MinimumIsExclusive = true)]
    public double MaxNorm { get; set; } = 1.0;

    /// <summary>The p of the p-norm; .inf for the largest absolute value.</summary>
    [Range(0.0, double.MaxValue, MinimumIsExclusive = true)]
    [AllowInfinity]
    public double NormType { get; set; } = 2.0;
}
