using Distill.Torch.Nn;
using Distill.Torch.Optim;

namespace Distill.Torch.Tests.Optim;

public class ExpMomentumEmaTests
{
    [Fact]
    public void MomentumAnnealsFromNearOneToTheFloor()
    {
        var ema = new ExpMomentumEma(); // m = 2e-4, γ = 2000
        // steps 1: (1 - 2e-4)·exp(-2/2000) + 2e-4 = 0.9998·0.9990004998333750 + 2e-4 = 0.9990006997334083
        Assert.Equal(0.9998 * 0.99900049983337499 + 2e-4, ema.MomentumAt(1), 15);
        // steps 1999: exp(-1): 0.9998·0.36787944117144233 + 2e-4 = 0.36800586528320806
        Assert.Equal(0.36800586528320806, ema.MomentumAt(1999), 15);
        // Far on it settles at m.
        Assert.Equal(2e-4, ema.MomentumAt(200_000), 15);
    }

    private static (string, Tensor)[] Entries(Tensor weight, Tensor mean, Tensor count) =>
        [("conv.weight", weight), ("bn.running_mean", mean), ("bn.num_batches_tracked", count)];

    [Fact]
    public void FirstUpdateCopiesThenFloatEntriesAreAveraged()
    {
        // m = 0.1, γ = 2, so the momentum is visibly below one:
        // μ(1) = 0.9·e^-1 + 0.1 = 0.43109149705429817, μ(2) = 0.9·e^-1.5 + 0.1 = 0.30081714413358684.
        var ema = new ExpMomentumEma(momentum: 0.1, gamma: 2);
        using var avgW = torch.FromArray(new[] { 1.0, 2.0 }, [2]);
        using var avgMean = torch.FromArray(new[] { 0.0f }, [1]);
        using var avgCount = torch.FromArray(new[] { 0L }, [1]);
        var avg = Entries(avgW, avgMean, avgCount);

        // Update 0: copy.
        using (var w = torch.FromArray(new[] { 3.0, 6.0 }, [2]))
        using (var mean = torch.FromArray(new[] { 0.5f }, [1]))
        using (var count = torch.FromArray(new[] { 5L }, [1]))
            ema.Update(avg, Entries(w, mean, count));
        Assert.Equal(1, ema.Steps);
        Assert.Equal([3.0, 6.0], avgW.ToArray<double>());
        Assert.Equal([0.5f], avgMean.ToArray<float>());
        Assert.Equal([5L], avgCount.ToArray<long>());

        // Update 1 (μ(1)): 3 + 0.43109149705·(5 - 3) = 3.8621829941, 6 + 0.43109149705·(10 - 6) = 7.7243659882;
        // running mean 0.5 + 0.43109·(1.5 - 0.5) = 0.93109; the integer count stays 5 (mmengine averages floats only).
        double mu1 = 0.9 * Math.Exp(-1) + 0.1;
        using (var w = torch.FromArray(new[] { 5.0, 10.0 }, [2]))
        using (var mean = torch.FromArray(new[] { 1.5f }, [1]))
        using (var count = torch.FromArray(new[] { 7L }, [1]))
            ema.Update(avg, Entries(w, mean, count));
        Assert.Equal(0.43109149705429817, mu1, 15);
        var w1 = avgW.ToArray<double>();
        Assert.Equal(3.8621829941085962, w1[0], 12);
        Assert.Equal(7.7243659882171924, w1[1], 12);
        Assert.Equal(0.93109149705f, avgMean.ToArray<float>()[0], 6);
        Assert.Equal([5L], avgCount.ToArray<long>());

        // Update 2 (μ(2)): avg·(1 - μ) + src·μ with src = [1, -2]:
        // 3.8621829941·0.6991828559 + 0.3008171441 = 3.0011892798; 7.7243659882·0.6991828559 - 0.6016342883 = 4.7991099831
        double mu2 = 0.9 * Math.Exp(-1.5) + 0.1;
        using (var w = torch.FromArray(new[] { 1.0, -2.0 }, [2]))
        using (var mean = torch.FromArray(new[] { 1.5f }, [1]))
        using (var count = torch.FromArray(new[] { 9L }, [1]))
            ema.Update(avg, Entries(w, mean, count));
        Assert.Equal(0.30081714413358684, mu2, 15);
        var w2 = avgW.ToArray<double>();
        Assert.Equal(w1[0] * (1 - mu2) + 1 * mu2, w2[0], 14);
        Assert.Equal(w1[1] * (1 - mu2) - 2 * mu2, w2[1], 14);
        Assert.Equal(3.0011892798, w2[0], 9);
        Assert.Equal(4.7991099831, w2[1], 9);
        Assert.Equal(3, ema.Steps);
    }

    private static void SetBatchNorm(BatchNorm2d bn, float weight, float bias, float mean, float var, long batches)
    {
        using var _ = Autograd.NoGrad();
        bn.Weight.Fill_(weight);
        bn.Bias.Fill_(bias);
        bn.RunningMean.Fill_(mean);
        bn.RunningVar.Fill_(var);
        bn.NumBatchesTracked.Fill_(batches);
    }

    private static (float Weight, float Bias, float Mean, float Var, long Batches) Read(BatchNorm2d bn) =>
        (bn.Weight.ToArray<float>()[0], bn.Bias.ToArray<float>()[0], bn.RunningMean.ToArray<float>()[0], bn.RunningVar.ToArray<float>()[0],
            bn.NumBatchesTracked.ToArray<long>()[0]);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ModuleUpdateAveragesBuffersOrCopiesThem(bool updateBuffers)
    {
        // m = 0.1, γ = 2: μ(1) = 0.9·e^-1 + 0.1 = 0.43109149705429817.
        var ema = new ExpMomentumEma(momentum: 0.1, gamma: 2) { UpdateBuffers = updateBuffers };
        using var averaged = new BatchNorm2d(1);
        using var model = new BatchNorm2d(1);

        // Update 0 copies everything, whichever the mode.
        SetBatchNorm(model, weight: 2, bias: 1, mean: 0.5f, var: 2, batches: 3);
        ema.Update(averaged, model);
        Assert.Equal((2f, 1f, 0.5f, 2f, 3L), Read(averaged));

        // Update 1: parameters move by μ(1) towards the model: weight 2 + μ·(4 - 2) = 2.8621829941, bias 1 + μ·(-1 - 1) =
        // 0.1378170059. Averaged buffers do the same (mean 0.5 + μ·1 = 0.9310914971, var 2 + μ·2 = 2.8621829941; the
        // integer count stays 3); copied buffers are the model's (1.5, 4, 5).
        SetBatchNorm(model, weight: 4, bias: -1, mean: 1.5f, var: 4, batches: 5);
        ema.Update(averaged, model);
        var (w, b, mean, var, batches) = Read(averaged);
        Assert.Equal(2.8621829941f, w, 6);
        Assert.Equal(0.1378170059f, b, 6);
        if (updateBuffers)
        {
            Assert.Equal(0.9310914971f, mean, 6);
            Assert.Equal(2.8621829941f, var, 6);
            Assert.Equal(3L, batches);
        }
        else
        {
            Assert.Equal((1.5f, 4f, 5L), (mean, var, batches));
        }
        Assert.Equal(2, ema.Steps);
    }

    [Fact]
    public void IntervalSkipsUpdatesButCountsThem()
    {
        var ema = new ExpMomentumEma(momentum: 0.1, gamma: 2, interval: 2);
        using var a = torch.FromArray(new[] { 0.0 }, [1]);
        using var s0 = torch.FromArray(new[] { 1.0 }, [1]);
        using var s1 = torch.FromArray(new[] { 5.0 }, [1]);
        ema.Update([("w", a)], [("w", s0)]);  // steps 0: copy -> 1
        ema.Update([("w", a)], [("w", s1)]);  // steps 1: 1 % 2 != 0, unchanged
        Assert.Equal([1.0], a.ToArray<double>());
        ema.Update([("w", a)], [("w", s1)]);  // steps 2: 1 + μ(2)·(5 - 1)
        Assert.Equal(1 + ema.MomentumAt(2) * 4, a.ToArray<double>()[0], 14);
        Assert.Equal(3, ema.Steps);
    }

    [Fact]
    public void MismatchedEntriesAreNamed()
    {
        var ema = new ExpMomentumEma();
        using var a = torch.Zeros([2]);
        using var b = torch.Zeros([3]);
        var ex = Assert.Throws<ArgumentException>(() => ema.Update([("x", a)], [("y", a)]));
        Assert.Contains("'x'", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => ema.Update([("x", a)], [("x", b)]));
        Assert.Contains("'x'", ex.Message);
        Assert.Equal(0, ema.Steps);
    }

    [Fact]
    public void StepsSaveAndRestore()
    {
        var ema = new ExpMomentumEma();
        using var a = torch.Zeros([1]);
        using var s = torch.Ones([1]);
        for (int i = 0; i < 4; i++) ema.Update([("w", a)], [("w", s)]);
        var restored = new ExpMomentumEma();
        restored.LoadStateDict(System.Text.Json.Nodes.JsonNode.Parse(ema.StateDict().ToJsonString())!.AsObject());
        Assert.Equal(4, restored.Steps);
    }
}
