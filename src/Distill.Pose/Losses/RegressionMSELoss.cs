using Distill.Torch;

namespace Distill.Pose.Losses;

/// <summary>
/// Masked MSE on normalised coordinates: sum over (x, y) of weight * (pred - target)^2 divided by the number of
/// weighted coordinates (at least 1), so empty person slots and unlabeled joints contribute nothing.
/// </summary>
public sealed class RegressionMSELoss : IRegressionLoss
{
    /// <param name="pred">(N, K, 2)</param>
    /// <param name="target">(N, K, 2)</param>
    /// <param name="weights">(N, K)</param>
    public Tensor Forward(Tensor pred, Tensor target, Tensor weights)
    {
        using var scope = torch.NewDisposeScope();
        var w = weights.Unsqueeze(-1);
        var se = (pred - target).Square() * w;
        var count = (w.Sum() * 2).ClampMin(1);
        return (se.Sum() / count).MoveToOuterDisposeScope();
    }
}
