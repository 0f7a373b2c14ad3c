using Distill.Torch;

namespace Distill.Pose.Losses;

/// <summary>Heatmap loss: mean over N*K*H*W of (pred - target)^2 times the keypoint weight.</summary>
public sealed class KeypointMSELoss(bool useTargetWeight = true)
{
    /// <param name="pred">(N, K, H, W)</param>
    /// <param name="target">(N, K, H, W)</param>
    /// <param name="weights">(N, K)</param>
    public Tensor Forward(Tensor pred, Tensor target, Tensor weights)
    {
        using var scope = torch.NewDisposeScope();
        var se = Functional.MseLoss(pred, target, Reduction.None);
        if (useTargetWeight) se = se * weights.Unsqueeze(-1).Unsqueeze(-1);
        return se.Mean().MoveToOuterDisposeScope();
    }
}
