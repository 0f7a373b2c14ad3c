using Distill.Pose.Codecs;
using Distill.Pose.Losses;
using Distill.Torch;
using Distill.Torch.Nn;

namespace Distill.Pose.Models.Heads;

/// <summary>
/// Direct regression: global average pooling of the last feature map and a linear layer to normalised (x, y) per
/// keypoint, optionally for P person slots. Output "keypoints" (N, P*K, 2) in [0, 1] input coordinates
/// (not squashed: the loss sees raw predictions). Names: fc.
/// </summary>
public sealed class RegressionHead : PoseHead
{
    private readonly Linear _fc;

    public Linear Fc => _fc;

    public override long NumKeypoints { get; }
    public long NumPersons { get; }
    public override string[] OutputNames => ["keypoints"];

    public RegressionHead(long inChannels, long numKeypoints, long numPersons = 1)
    {
        NumKeypoints = numKeypoints;
        NumPersons = numPersons;
        _fc = RegisterModule("fc", new Linear(inChannels, numPersons * numKeypoints * 2));
    }

    public override Dictionary<string, Tensor> Forward(Tensor[] feats)
    {
        using var scope = torch.NewDisposeScope();
        var f = feats[^1];
        var pooled = f.Dim == 4 ? f.Mean([2, 3]) : f.Mean(1);
        var y = _fc.Forward(pooled).View(f.Size(0), NumPersons * NumKeypoints, 2);
        return new Dictionary<string, Tensor> { ["keypoints"] = y.MoveToOuterDisposeScope() };
    }

    public RegressionMSELoss LossFunction { get; set; } = new();

    public double LossWeight { get; set; } = 1.0;

    public override Dictionary<string, Tensor> Loss(IReadOnlyDictionary<string, Tensor> outputs, IReadOnlyDictionary<string, Tensor> targets)
    {
        var l = LossFunction.Forward(outputs["keypoints"], Target(targets, TargetNames.KeypointLabels), Target(targets, TargetNames.KeypointWeights));
        if (LossWeight != 1.0) l.Mul_(LossWeight);
        return new Dictionary<string, Tensor> { ["loss_kpt"] = l };
    }
}
