using Distill.Torch;

namespace Distill.Pose.Losses;

/// <summary>A loss on a regression head's output against normalised coordinates.</summary>
public interface IRegressionLoss
{
    /// <param name="output">(N, K, 2) coordinates, or (N, K, 4) coordinates and sigmas for losses that need them.</param>
    /// <param name="target">(N, K, 2)</param>
    /// <param name="weights">(N, K)</param>
    Tensor Forward(Tensor output, Tensor target, Tensor weights);
}
