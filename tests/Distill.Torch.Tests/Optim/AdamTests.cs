using Distill.Torch.Optim;
using static Distill.Torch.Tests.Optim.OptimTestUtil;

namespace Distill.Torch.Tests.Optim;

public class AdamTests
{
    [Fact]
    public void FirstAdamStepMovesEachWeightByAboutLr()
    {
        using var w = Param(1.0, 1.0);
        using var opt = new Adam([w], lr: 0.1);
        // Step 1 with g = [0.5, -2]: m = 0.1·g, v = 0.001·g², bias corrections 0.1 and 0.001 give m̂ = g, v̂ = g²,
        // so w -= 0.1·g / (|g| + 1e-8) = [1 - 0.1·0.5/0.50000001, 1 + 0.1·2/2.00000001].
        LinearGrad(w, 0.5, -2.0);
        opt.Step();
        Near([1 - 0.1 * 0.5 / 0.50000001, 1 + 0.1 * 2 / 2.00000001], Values(w), 1e-15);
    }

    [Theory]
    [InlineData(0.0, false)]
    [InlineData(0.1, false)]
    [InlineData(0.0, true)]
    [InlineData(0.1, true)]
    public void TwoAdamStepsMatchTheFormulaWithBiasCorrection(double weightDecay, bool amsgrad)
    {
        double[] start = [0.8, -1.5, 2.5];
        double[] c = [1.0, 3.0, 0.2];
        using var w = Param(start);
        using var opt = new Adam([w], lr: 0.01, beta1: 0.85, beta2: 0.99, eps: 1e-6, weightDecay: weightDecay, amsgrad: amsgrad);
        var reference = new ReferenceAdam(0.01, 0.85, 0.99, 1e-6, weightDecay, decoupled: false, amsgrad);
        var p = (double[])start.Clone();
        for (int step = 0; step < 2; step++)
        {
            opt.ZeroGrad();
            QuadraticGrad(w, c);
            reference.Step(p, p.Select((v, i) => c[i] * v).ToArray());
            opt.Step();
            Near(p, Values(w));
        }
    }

    [Fact]
    public void TwoAdamWStepsDecayTheWeightsBeforeTheMoments()
    {
        double[] start = [0.8, -1.5, 2.5];
        double[] c = [1.0, 3.0, 0.2];
        using var w = Param(start);
        using var opt = new AdamW([w], lr: 0.01, weightDecay: 0.05);
        var reference = new ReferenceAdam(0.01, 0.9, 0.999, 1e-8, 0.05, decoupled: true, amsgrad: false);
        var p = (double[])start.Clone();
        for (int step = 0; step < 2; step++)
        {
            opt.ZeroGrad();
            QuadraticGrad(w, c);
            reference.Step(p, p.Select((v, i) => c[i] * v).ToArray());
            opt.Step();
            Near(p, Values(w));
        }

        // The same steps with L2 (Adam) give other weights: the decay really is decoupled.
        using var w2 = Param(start);
        using var adam = new Adam([w2], lr: 0.01, weightDecay: 0.05);
        for (int step = 0; step < 2; step++)
        {
            adam.ZeroGrad();
            QuadraticGrad(w2, c);
            adam.Step();
        }
        Assert.True(Math.Abs(Values(w2)[0] - Values(w)[0]) > 1e-6);
    }

    [Fact]
    public void AmsgradUsesTheLargestSecondMomentSeen()
    {
        // A large gradient followed by small ones makes v shrink, so the running max differs from v.
        double[][] grads = [[10.0, -3.0], [0.1, 0.2], [0.05, -0.1]];
        using var w = Param(0.0, 0.0);
        using var plain = Param(0.0, 0.0);
        using var opt = new Adam([w], lr: 0.1, beta2: 0.5, amsgrad: true);
        using var optPlain = new Adam([plain], lr: 0.1, beta2: 0.5);
        var reference = new ReferenceAdam(0.1, 0.9, 0.5, 1e-8, 0, decoupled: false, amsgrad: true);
        var p = new double[2];
        foreach (var g in grads)
        {
            opt.ZeroGrad();
            optPlain.ZeroGrad();
            LinearGrad(w, g);
            LinearGrad(plain, g);
            reference.Step(p, g);
            opt.Step();
            optPlain.Step();
        }
        Near(p, Values(w));
        Assert.True(Math.Abs(Values(plain)[0] - p[0]) > 1e-3, "amsgrad should differ from plain Adam here");
        using var sd = opt.StateDict();
        Assert.Contains("state.0.max_exp_avg_sq", sd.Tensors.Keys);
    }

    [Fact]
    public void GroupsKeepTheirOwnLearningRateAndDecay()
    {
        using var a = Param(1.0);
        using var b = Param(1.0);
        using var opt = new AdamW([new ParamGroup([a]), new ParamGroup([b]) { Lr = 0.5, WeightDecay = 0 }], lr: 0.1, weightDecay: 0.2);
        LinearGrad(a, 1.0);
        LinearGrad(b, 1.0);
        opt.Step();
        // First step moves by lr·g/(|g| + eps) after decay: a = 1·(1 - 0.1·0.2) - 0.1/(1 + 1e-8); b = 1 - 0.5/(1 + 1e-8).
        Near([0.98 - 0.1 / (1 + 1e-8)], Values(a), 1e-15);
        Near([1 - 0.5 / (1 + 1e-8)], Values(b), 1e-15);
    }

    [Fact]
    public void StateIsCreatedLazilyAtTheFirstGradient()
    {
        using var w = Param(1.0, 2.0);
        using var opt = new Adam([w]);
        using (var before = opt.StateDict())
        {
            Assert.Empty(before.Tensors);
            Assert.Empty(before.Metadata["state"]!.AsObject());
        }
        opt.Step(); // no gradient yet: nothing happens
        Near([1.0, 2.0], Values(w));
        LinearGrad(w, 1.0, 1.0);
        opt.Step();
        using var after = opt.StateDict();
        Assert.Equal(["state.0.exp_avg", "state.0.exp_avg_sq"], after.Tensors.Keys.Order());
        Assert.Equal(1, after.Metadata["state"]!["0"]!["step"]!.GetValue<long>());
        Assert.Equal([0.1, 0.1], after.Tensors["state.0.exp_avg"].ToArray<double>(), new ToleranceComparer(1e-15));
    }

    private sealed class ToleranceComparer(double tol) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tol;
        public int GetHashCode(double obj) => 0;
    }
}
