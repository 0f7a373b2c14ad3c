using System.ComponentModel.DataAnnotations;

namespace Distill.Training.Config.Schema;

/// <summary>
/// Exponential moving average of the weights with a decaying momentum (mmengine's ExpMomentumEMA):
/// momentum_t = (1 - momentum) x exp(-(1 + t) / gamma) + momentum.
/// </summary>
public sealed class EmaOptions
{
    public bool Enabled { get; set; } = true;

    /// <summary>Weight of the new parameters once the warm-up has decayed.</summary>
    [Range(0.0, 1.0)]
    public double Momentum { get; set; } = 2e-4;

    /// <summary>Steps over which the momentum decays towards <see cref="Momentum"/>.</summary>
    [Range(0.0, double.MaxValue, MinimumIsExclusive = true)]
    public double Gamma { get; set; } = 2000;

    /// <summary>
    /// Average buffers (BatchNorm statistics) like parameters (mmengine's update_buffers=True, as RTMPose trains);
    /// false averages parameters only and copies the buffers from the model at every update.
    /// </summary>
    public bool UpdateBuffers { get; set; } = true;
}
