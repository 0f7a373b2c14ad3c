using Distill.Pose.Codecs;
using Distill.Pose.Losses;
using Distill.Torch;
using Distill.Torch.Nn;

namespace Distill.Pose.Models.Heads;

/// <summary>
/// Direct regression: global average pooling of the last feature map and a linear layer to normalised (x, y) per
/// keypoint, optionally for P person slots. Output "keypoints" (N, P*K, 2) in [0, 1] input coordinates
/// (not squashed: the loss sees raw predictions). Names: fc. With <c>withSigma</c> (for <see cref="RLELoss"/>) the
/// layer gives 4 values per keypoint and the output is (N, P*K, 4): x, y and a sigma per axis squashed by a sigmoid
/// into (0, 1), as mmpose's RLEHead predicts them.
/// </summary>
public sealed class RegressionHead : PoseHead
{
    private readonly Linear _fc;

    public Linear Fc => _fc;

    public override long NumKeypoints { get; }
    public long NumPersons { get; }
    public override string[] OutputNames => ["keypoints"];

    /// <summary>Values per keypoint: 2 (x, y), or 4 with sigmas.</summary>
    public long Dims { get; }

    public RegressionHead(long inChannels, long numKeypoints, long numPersons = 1, bool withSigma = false)
    {
        NumKeypoints = numKeypoints;
        NumPersons = numPersons;
        Dims = withSigma ? 4 : 2;
        _fc = RegisterModule("fc", new Linear(inChannels, numPersons * numKeypoints * Dims));
    }

    public override Dictionary<string, Tensor> Forward(Tensor[] feats)
    {
        using var scope = torch.NewDisposeScope();
        var f = feats[^1];
        var pooled = f.Dim == 4 ? f.Mean([2, 3]) : f.Mean(1);
        var y = _fc.Forward(pooled).View(f.Size(0), NumPersons * NumKeypoints, Dims);
        if (Dims == 4) y = torch.Cat([y.Narrow(2, 0, 2), y.Narrow(2, 2, 2).Sigmoid()], 2);
        return new Dictionary<string, Tensor> { ["keypoints"] = y.MoveToOuterDisposeScope() };
    }

    private IRegressionLoss _loss = new RegressionMSELoss();

    /// <summary>The loss; a loss that is a module (RLE's flow) becomes the child <c>loss_module</c>, as in mmpose.</summary>
    public IRegressionLoss LossFunction
    {
        get => _loss;
        set
        {
            if (value is Module m) RegisterModule("loss_module", m);
            _loss = value;
        }
    }

    public double LossWeight { get; set; } = 1.0;

    public override Dictionary<string, Tensor> Loss(IReadOnlyDictionary<string, Tensor> outputs, IReadOnlyDictionary<string, Tensor> targets)
    {
        var l = LossFunction.Forward(outputs["keypoints"], Target(targets, TargetNames.KeypointLabels), Target(targets, TargetNames.KeypointWeights));
        if (LossWeight != 1.0) l.Mul_(LossWeight);
        return new Dictionary<string, Tensor> { ["loss_kpt"] = l };
    }
}
