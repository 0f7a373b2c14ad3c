using Distill.Torch;
using Distill.Torch.Nn;

namespace Distill.Pose.Losses;

/// <summary>
/// mmpose's RLELoss (residual log-likelihood estimation, Li et al. 2021) for regression heads that predict a sigma per
/// coordinate. With e = (pred - target) / (sigma + 1e-9) per coordinate and log phi the flow's log-density of the
/// keypoint's scaled error (<see cref="RealNVP"/>), each axis costs log sigma - log phi (so, as in mmpose, log phi counts
/// once per axis), plus, with the residual Laplace term, log(2 sigma) + |e|. Weighted by the keypoint weight, summed and
/// divided by the batch size (mmpose's size_average).
/// </summary>
/// <remarks>
/// Sigmas arrive already squashed to (0, 1): the head applies the sigmoid that mmpose applies inside the loss, so
/// decoding sees the same values. The flow is a child module (<c>flow_model</c>) whose parameters train with the head.
/// </remarks>
public sealed class RLELoss : Module, IRegressionLoss
{
    private readonly RealNVP _flow;

    public RLELoss(bool residual = true)
    {
        Residual = residual;
        _flow = RegisterModule("flow_model", new RealNVP());
    }

    public RealNVP Flow => _flow;

    /// <summary>Add the Laplace residual term (mmpose's default, q_distribution laplace).</summary>
    public bool Residual { get; }

    /// <param name="output">(N, K, 4): x, y, sigma x, sigma y, sigmas in (0, 1).</param>
    /// <param name="target">(N, K, 2)</param>
    /// <param name="weights">(N, K)</param>
    public Tensor Forward(Tensor output, Tensor target, Tensor weights)
    {
        if (output.Dim != 3 || output.Size(2) != 4)
            throw new ArgumentException($"RLELoss: expected (N, K, 4) coordinates and sigmas, got [{string.Join(", ", output.Shape)}]");
        using var scope = torch.NewDisposeScope();
        long n = output.Size(0), k = output.Size(1);
        var pred = output.Narrow(2, 0, 2);
        var sigma = output.Narrow(2, 2, 2);
        var error = (pred - target) / (sigma + 1e-9);
        var logPhi = _flow.LogProb(error.Reshape(-1, 2)).Reshape(n, k, 1);
        var loss = sigma.Log() - logPhi;
        if (Residual) loss = loss + (sigma * 2).Log() + error.Abs();
        loss = loss * weights.Unsqueeze(-1);
        return (loss.Sum() / n).MoveToOuterDisposeScope();
    }
}
