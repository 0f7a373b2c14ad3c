using Distill.Pose.Losses;
using Distill.Pose.Models.Heads;
using Distill.Torch;
using Distill.Torch.Nn;

namespace Distill.Pose.Tests.Losses;

/// <summary>The regression head's alternative losses against values worked out by hand.</summary>
public sealed class RegressionLossTests
{
    [Fact]
    public void SmoothL1IsQuadraticBelowBetaLinearAboveAndAveragesWeightedCoordinates()
    {
        using var scope = torch.NewDisposeScope();
        // Keypoint 0: |d| = (0.5, 0.2) -> 0.5 * 0.25 + 0.5 * 0.04 = 0.145; keypoint 1: |d| = (3, 0) -> 3 - 0.5 = 2.5.
        var pred = torch.FromArray(new float[] { 0.5f, 0.2f, 3f, 0f }, [1, 2, 2]);
        var target = torch.Zeros([1, 2, 2]);
        var loss = new RegressionSmoothL1Loss();
        // Both weighted: (0.145 + 2.5) / 4 coordinates.
        Assert.Equal(0.66125, loss.Forward(pred, target, torch.FromArray(new float[] { 1, 1 }, [1, 2])).ItemDouble(), 6);
        // Keypoint 1 masked: 0.145 / 2.
        Assert.Equal(0.0725, loss.Forward(pred, target, torch.FromArray(new float[] { 1, 0 }, [1, 2])).ItemDouble(), 6);
        // beta 0.5: |d| = 0.5 is on the linear side, 0.5 - 0.25 = 0.25; 0.2 -> 0.5 * 0.04 / 0.5 = 0.04; (0.25 + 0.04) / 2.
        Assert.Equal(0.145, new RegressionSmoothL1Loss(0.5).Forward(pred, target, torch.FromArray(new float[] { 1, 0 }, [1, 2])).ItemDouble(), 6);
    }

    private static void Zero(Module m)
    {
        using var _ = Autograd.NoGrad();
        foreach (var p in m.Parameters()) p.Zero_();
    }

    [Fact]
    public void FlowWithZeroWeightsIsTheStandardNormal()
    {
        using var scope = torch.NewDisposeScope();
        var flow = new RealNVP();
        Zero(flow);
        // log N((0.4, -0.4); 0, I) = -log(2 pi) - 0.32 / 2 = -1.99787707
        var x = torch.FromArray(new float[] { 0.4f, -0.4f, 0f, 0f }, [2, 2]);
        var lp = flow.LogProb(x).ToArray<float>();
        Assert.Equal(-1.9978770664, lp[0], 5);
        Assert.Equal(-Math.Log(2 * Math.PI), lp[1], 5);
    }

    [Fact]
    public void FlowCouplingLayerScalesAndShiftsTheUnmaskedCoordinate()
    {
        using var scope = torch.NewDisposeScope();
        var flow = new RealNVP();
        Zero(flow);
        // The last layer (mask (1, 0), run first) with constant nets: s = (0, tanh(atanh 0.5)) = (0, 0.5), t = (0, 0.1)
        // (the masked coordinate's values are multiplied away). x = (0.4, 0.6): z = (0.4, (0.6 - 0.1) e^-0.5), and
        // log p = -log(2 pi) - (0.16 + z1^2) / 2 - 0.5 = -2.46386200.
        using (Autograd.NoGrad())
        {
            ((Linear)flow.ScaleNets[5][4]).Bias!.Copy_(torch.FromArray(new float[] { 3f, (float)Math.Atanh(0.5) }, [2]));
            ((Linear)flow.TranslationNets[5][4]).Bias!.Copy_(torch.FromArray(new float[] { 7f, 0.1f }, [2]));
        }
        var lp = flow.LogProb(torch.FromArray(new float[] { 0.4f, 0.6f }, [1, 2])).ToArray<float>();
        Assert.Equal(-2.4638619966, lp[0], 5);
    }

    [Fact]
    public void RleLossOfOneKeypointByHand()
    {
        using var scope = torch.NewDisposeScope();
        var rle = new RLELoss();
        Zero(rle);
        // pred (0.3, 0.6), target (0.5, 0.5), sigma (0.5, 0.25): e = (-0.4, 0.4), log phi = -1.99787707 (standard normal).
        // mmpose subtracts log phi once per axis: (log 0.5 - log phi) + (log 0.25 - log phi) = -2.07944154 + 3.99575413;
        // the Laplace residual adds (log 1 + 0.4) + (log 0.5 + 0.4) = 0.10685282. Total 2.02316541, over a batch of 2
        // whose second sample has weight 0: 1.01158271.
        var output = torch.FromArray(new float[] { 0.3f, 0.6f, 0.5f, 0.25f, 0.9f, 0.1f, 0.5f, 0.5f }, [2, 1, 4]);
        var target = torch.FromArray(new float[] { 0.5f, 0.5f, 0f, 0f }, [2, 1, 2]);
        var weights = torch.FromArray(new float[] { 1, 0 }, [2, 1]);
        Assert.Equal(1.0115827053, rle.Forward(output, target, weights).ItemDouble(), 5);
        // Without the residual term only the flow part remains: 1.91631259 / 2.
        var plain = new RLELoss(residual: false);
        Zero(plain);
        Assert.Equal(0.9581562956, plain.Forward(output, target, weights).ItemDouble(), 5);
    }

    [Fact]
    public void RleHeadPredictsSigmasInUnitRangeAndKeepsTheFlowUnderMmposesNames()
    {
        using var scope = torch.NewDisposeScope();
        var head = new RegressionHead(8, 3, withSigma: true) { LossFunction = new RLELoss() };
        var keys = head.StateDict().Select(kv => kv.Key).ToList();
        Assert.Contains("loss_module.flow_model.s.0.0.weight", keys);
        Assert.Contains("loss_module.flow_model.t.5.4.bias", keys);
        Assert.Contains("loss_module.flow_model.mask", keys);
        Assert.Equal(new float[] { 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0 }, head.StateDict().Single(kv => kv.Key == "loss_module.flow_model.mask").Value.ToArray<float>());
        using var g = new Generator(1);
        var y = head.Forward([torch.Randn([2, 8, 2, 2], g) * 10])["keypoints"];
        Assert.Equal([2, 3, 4], y.Shape);
        var sigmas = y.Narrow(2, 2, 2);
        Assert.True(sigmas.Min().ItemDouble() > 0 && sigmas.Max().ItemDouble() < 1);
    }
}
