using Distill.Torch;

namespace Distill.Pose.Losses;

/// <summary>
/// SimCC ground-truth loss (RTMPose): per keypoint and axis KL(softmax(label * beta) || log_softmax(pred * beta)),
/// averaged over bins, times the keypoint weight, summed over the batch and both axes, divided by K.
/// </summary>
public sealed class KLDiscretLoss(double beta = 10.0, bool labelSoftmax = true, bool useTargetWeight = true)
{
    public double Beta { get; } = beta;

    /// <param name="predX">(N, K, Wb) logits</param>
    /// <param name="labelX">(N, K, Wb) Gaussian labels</param>
    /// <param name="weights">(N, K) keypoint weights</param>
    public Tensor Forward(Tensor predX, Tensor predY, Tensor labelX, Tensor labelY, Tensor weights)
    {
        using var scope = torch.NewDisposeScope();
        long k = predX.Size(1);
        var w = useTargetWeight ? weights.Reshape(-1) : null;
        var total = Axis(predX, labelX, w) + Axis(predY, labelY, w);
        return total.Div_(k).MoveToOuterDisposeScope();
    }

    private Tensor Axis(Tensor pred, Tensor label, Tensor? w)
    {
        long bins = pred.Size(-1);
        var logP = Functional.LogSoftmax(pred.Reshape(-1, bins) * Beta, 1);
        var target = labelSoftmax ? Functional.Softmax(label.Reshape(-1, bins) * Beta, 1) : label.Reshape(-1, bins);
        var perRow = Functional.KlDiv(logP, target, Reduction.None).Mean(1);
        if (w is not null) perRow = perRow * w;
        return perRow.Sum();
    }
}
