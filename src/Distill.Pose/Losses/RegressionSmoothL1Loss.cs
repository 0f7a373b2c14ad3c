using Distill.Torch;

namespace Distill.Pose.Losses;

/// <summary>
/// Masked smooth L1 on normalised coordinates: per coordinate d = |pred - target|, 0.5 d^2 / beta when d &lt; beta,
/// else d - 0.5 beta (PyTorch's smooth_l1_loss, beta 1 by default as in mmpose's SmoothL1Loss); then the sum of
/// weight x that over the number of weighted coordinates (at least 1), the reduction of <see cref="RegressionMSELoss"/>.
/// </summary>
public sealed class RegressionSmoothL1Loss(double beta = 1.0) : IRegressionLoss
{
    public double Beta { get; } = beta > 0 ? beta : throw new ArgumentOutOfRangeException(nameof(beta), beta, "beta must be positive");

    public Tensor Forward(Tensor output, Tensor target, Tensor weights)
    {
        using var scope = torch.NewDisposeScope();
        var w = weights.Unsqueeze(-1);
        var d = (output - target).Abs();
        var quadratic = d.Square() * (0.5 / Beta);
        var linear = d - 0.5 * Beta;
        var per = torch.Where(d.Lt(Beta), quadratic, linear) * w;
        var count = (w.Sum() * 2).ClampMin(1);
        return (per.Sum() / count).MoveToOuterDisposeScope();
    }
}
