using Distill.Pose.Models;
using Distill.Pose.Models.Backbones;
using Distill.Pose.Models.Heads;
using Distill.Torch;
using Distill.Torch.Nn;
using Distill.Torch.Optim;

namespace Distill.Pose.Tests.Models;

/// <summary>One training step on random data must reach every trainable parameter; BN statistics follow train/eval.</summary>
public class GradientFlowTests
{
    private static void StepChangesEveryParameter(Module<Tensor, Dictionary<string, Tensor>> model, long[] inputShape)
    {
        torch.ManualSeed(7);
        var before = model.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.Clone().DetachFromDisposeScope());
        var bnBefore = model.NamedBuffers().Where(b => b.Name.EndsWith("running_mean")).ToDictionary(b => b.Name, b => b.Buffer.Clone().DetachFromDisposeScope());
        // Adam moves every parameter with a non-zero gradient by about lr, however small the gradient: the heads start
        // from tiny weights (mmpose's init), so plain SGD would leave early layers unchanged within float precision.
        using var opt = new Adam(model.Parameters(), lr: 1e-3);
        model.Train();
        using (var scope = torch.NewDisposeScope())
        {
            var outs = model.Forward(torch.Randn(inputShape));
            var loss = outs.Values.Select(o => o.Square().Mean()).Aggregate((a, b) => a + b);
            loss.Backward();
            opt.Step();
        }
        foreach (var (name, p) in model.NamedParameters())
        {
            using var same = p.Eq(before[name]).All();
            Assert.True(same.ItemLong() == 0, $"{name} did not change after a training step");
        }
        foreach (var (name, b) in model.NamedBuffers().Where(b => b.Name.EndsWith("running_mean")))
            Assert.False(b.AllClose(bnBefore[name], 0, 0), $"{name} did not update in train mode");
        // In eval mode a forward pass leaves the statistics alone.
        model.Eval();
        var frozen = model.NamedBuffers().ToDictionary(b => b.Name, b => b.Buffer.Clone().DetachFromDisposeScope());
        using (var scope = torch.NewDisposeScope())
        using (Autograd.NoGrad())
            model.Forward(torch.Randn(inputShape));
        foreach (var (name, b) in model.NamedBuffers())
            Assert.True(b.AllClose(frozen[name], 0, 0), $"{name} changed in eval mode");
        foreach (var t in before.Values.Concat(bnBefore.Values).Concat(frozen.Values)) t.Dispose();
    }

    [Fact]
    public void RtmPoseTrainsEveryParameter()
    {
        using var model = new TopdownPoseEstimator(new CSPNeXt(0.167, 0.125), new RTMCCHead(128, 5, (48, 64), (2, 2), hiddenDims: 32, s: 16),
            new Distill.Pose.Codecs.SimCCLabel((48, 64), (1.5, 1.5), 2.0, normalize: false), [0, 2, 1, 4, 3]);
        StepChangesEveryParameter(model, [2, 3, 64, 48]);
    }

    [Fact]
    public void HRFormerTrainsEveryParameter()
    {
        // Four branches, two modules in the last stage (the second fusing into branch 0 only), drop path on.
        var arch = new HRFormerArch([8, 16, 16, 32], [1, 2, 2, 4], [1, 1, 2], Blocks: 1);
        using var model = new TopdownPoseEstimator(new HRFormer(arch, dropPathRate: 0.1), new HeatmapHead(8, 5, []),
            new Distill.Pose.Codecs.MSRAHeatmap((48, 64), (12, 16), 2.0), [0, 2, 1, 4, 3]);
        StepChangesEveryParameter(model, [2, 3, 64, 48]);
    }

    [Fact]
    public void VitPoseTrainsEveryParameter()
    {
        using var model = new TopdownPoseEstimator(new VisionTransformer(32, 2, 2, 64, (48, 64)), new HeatmapHead(32, 5, [16, 16]),
            new Distill.Pose.Codecs.UDPHeatmap((48, 64), (12, 16), 2.0), [0, 2, 1, 4, 3]);
        StepChangesEveryParameter(model, [2, 3, 64, 48]);
    }

    [Fact]
    public void RegressionHeadTrainsEveryParameter()
    {
        using var model = new TopdownPoseEstimator(new VisionTransformer(32, 1, 2, 64, (48, 64)), new RegressionHead(32, 5),
            new Distill.Pose.Codecs.RegressionLabel((48, 64)), [0, 2, 1, 4, 3]);
        StepChangesEveryParameter(model, [2, 3, 64, 48]);
    }
}
