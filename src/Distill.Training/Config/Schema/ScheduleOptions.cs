using System.ComponentModel.DataAnnotations;
using Distill.Config;

namespace Distill.Training.Config.Schema;

public enum LrScheduleType
{
    /// <summary>Cosine from the base rate to eta_min_ratio x lr over all of training.</summary>
    [ConfigName("cosine")]
    Cosine,

    /// <summary>Multiply by gamma at each milestone.</summary>
    [ConfigName("multistep")]
    MultiStep,

    [ConfigName("constant")]
    Constant,

    /// <summary>Constant until cosine_begin_epoch, then cosine down to eta_min_ratio x lr (RTMPose).</summary>
    [ConfigName("flat_cosine")]
    FlatCosine,
}

public enum WarmupType
{
    /// <summary>From warmup_ratio x lr to lr in equal increments (mmengine's LinearLR).</summary>
    [ConfigName("linear")]
    Linear,

    /// <summary>From warmup_ratio x lr to lr by equal ratios (OpenPifPaf's).</summary>
    [ConfigName("geometric")]
    Geometric,
}

/// <summary>Learning-rate schedule after a linear (or geometric) warm-up.</summary>
public sealed class ScheduleOptions : IValidatable
{
    /// <summary>Iterations of linear warm-up from warmup_ratio x lr to lr; 0 disables it.</summary>
    [Range(0, int.MaxValue)]
    public int WarmupIters { get; set; } = 1000;

    [Range(0.0, 1.0)]
    public double WarmupRatio { get; set; } = 1e-5;

    /// <summary>How the warm-up rises: linear (default) or geometric.</summary>
    public WarmupType Warmup { get; set; } = WarmupType.Linear;

    /// <summary>Multistep: epochs over which each decay by gamma is spread geometrically (OpenPifPaf's 1); 0 decays at once.</summary>
    [Range(0, 1000)]
    public int DecaySpreadEpochs { get; set; }

    public LrScheduleType Type { get; set; } = LrScheduleType.FlatCosine;

    /// <summary>Epochs (or iterations when by_epoch is false) where a multistep schedule decays.</summary>
    [Range(0, int.MaxValue)]
    public List<int> Milestones { get; set; } = [];

    [Range(0.0, 1.0)]
    public double Gamma { get; set; } = 0.1;

    /// <summary>Final learning rate of the cosine phase as a fraction of lr.</summary>
    [Range(0.0, 1.0)]
    public double EtaMinRatio { get; set; } = 0.05;

    /// <summary>Milestones and cosine_begin_epoch count epochs (true) or iterations (false).</summary>
    public bool ByEpoch { get; set; } = true;

    /// <summary>Start of the cosine phase of flat_cosine; null means half of train.max_epochs.</summary>
    [Range(0, int.MaxValue)]
    public int? CosineBeginEpoch { get; set; }

    public IEnumerable<ValidationMessage> Validate()
    {
        if (Warmup == WarmupType.Geometric && WarmupIters > 0 && WarmupRatio == 0)
            yield return ValidationMessage.For("warmup_ratio", "a geometric warm-up cannot start from 0", "warmup");
        if (DecaySpreadEpochs > 0 && Type != LrScheduleType.MultiStep)
            yield return ValidationMessage.For("decay_spread_epochs", $"spreads the decays of a multistep schedule, not of {Type}", "type");
        if (Type == LrScheduleType.MultiStep && Milestones.Count == 0)
            yield return ValidationMessage.For("milestones", "a multistep schedule needs at least one milestone");
        for (var i = 1; i < Milestones.Count; i++)
        {
            if (Milestones[i] <= Milestones[i - 1])
                yield return ValidationMessage.For($"milestones.{i}", $"milestones must increase: {Milestones[i]} follows {Milestones[i - 1]}");
        }
    }
}
