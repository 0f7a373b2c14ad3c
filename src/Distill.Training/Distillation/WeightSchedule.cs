using Distill.Config;

namespace Distill.Training.Distillation;

/// <summary>How a distillation weight changes over the main training run.</summary>
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

public static class WeightSchedules
{
    /// <summary>The multiplier a schedule gives a distillation weight in 0-based <paramref name="epoch"/> of <paramref name="maxEpochs"/>.</summary>
    public static double Factor(this WeightSchedule schedule, int epoch, int maxEpochs) => schedule switch
    {
        WeightSchedule.Linear => 1.0 - (double)epoch / maxEpochs,
        WeightSchedule.Cosine => 0.5 * (1 + Math.Cos(Math.PI * epoch / maxEpochs)),
        _ => 1.0,
    };
}
