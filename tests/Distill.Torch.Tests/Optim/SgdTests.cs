using Distill.Torch.Optim;
using static Distill.Torch.Tests.Optim.OptimTestUtil;

namespace Distill.Torch.Tests.Optim;

public class SgdTests
{
    [Fact]
    public void TwoMomentumStepsWithWeightDecayFollowTheUpdateFormula()
    {
        using var w = Param(1.0, -2.0, 3.0);
        using var opt = new SGD([w], lr: 0.1, momentum: 0.9, weightDecay: 0.1);

        // Loss Σ x·w, so g = x = [0.5, 1.5, -1] at both steps.
        // Step 1: d = g + 0.1·w = [0.6, 1.3, -0.7]; buf = d; w -= 0.1·buf -> [0.94, -2.13, 3.07].
        LinearGrad(w, 0.5, 1.5, -1.0);
        opt.Step();
        Near([0.94, -2.13, 3.07], Values(w));

        // Step 2: d = g + 0.1·w = [0.594, 1.287, -0.693]; buf = 0.9·buf + d = [1.134, 2.457, -1.323];
        // w -= 0.1·buf -> [0.8266, -2.3757, 3.2023].
        opt.ZeroGrad();
        LinearGrad(w, 0.5, 1.5, -1.0);
        opt.Step();
        Near([0.8266, -2.3757, 3.2023], Values(w));
    }

    [Fact]
    public void NesterovStepsFollowTheUpdateFormula()
    {
        using var w = Param(2.0, -1.0);
        using var opt = new SGD([w], lr: 0.1, momentum: 0.9, nesterov: true);

        // Loss Σ ½·w², g = w. Step 1: g = [2, -1]; buf = g; d = g + 0.9·buf = 1.9·g = [3.8, -1.9];
        // w -= 0.1·d -> [1.62, -0.81].
        QuadraticGrad(w, 1, 1);
        opt.Step();
        Near([1.62, -0.81], Values(w));

        // Step 2: g = [1.62, -0.81]; buf = 0.9·[2, -1] + g = [3.42, -1.71]; d = g + 0.9·buf = [4.698, -2.349];
        // w -= 0.1·d -> [1.1502, -0.5751].
        opt.ZeroGrad();
        QuadraticGrad(w, 1, 1);
        opt.Step();
        Near([1.1502, -0.5751], Values(w));
    }

    [Fact]
    public void DampeningScalesOnlyLaterGradientsAsTheReferenceDoes()
    {
        double[] start = [0.3, -0.7, 1.1, 2.0];
        double[] c = [1.0, 2.0, 0.5, 3.0];
        using var w = Param(start);
        using var opt = new SGD([w], lr: 0.05, momentum: 0.8, dampening: 0.3, weightDecay: 0.01);
        var reference = new ReferenceSgd(0.05, 0.8, 0.3, 0.01, nesterov: false);
        var p = (double[])start.Clone();
        for (int step = 0; step < 4; step++)
        {
            opt.ZeroGrad();
            QuadraticGrad(w, c);
            reference.Step(p, p.Select((v, i) => c[i] * v).ToArray());
            opt.Step();
            Near(p, Values(w));
        }
    }

    [Fact]
    public void WeightDecayIsSetPerGroup()
    {
        using var a = Param(1.0, 2.0);
        using var b = Param(1.0, 2.0);
        // Group a keeps the optimizer's decay 0.5; group b turns it off.
        using var opt = new SGD([new ParamGroup([a]), new ParamGroup([b]) { WeightDecay = 0 }], lr: 0.1, weightDecay: 0.5);
        Assert.Equal(0.5, opt.Group(0).WeightDecay);
        Assert.Equal(0.0, opt.Group(1).WeightDecay);

        LinearGrad(a, 1.0, 1.0);
        LinearGrad(b, 1.0, 1.0);
        opt.Step();
        // a: w -= 0.1·(1 + 0.5·w) -> [1 - 0.15, 2 - 0.2] = [0.85, 1.8]; b: w -= 0.1·1 -> [0.9, 1.9].
        Near([0.85, 1.8], Values(a));
        Near([0.9, 1.9], Values(b));
    }

    [Fact]
    public void ParametersWithoutGradientAreLeftAlone()
    {
        using var a = Param(1.0);
        using var b = Param(5.0);
        using var opt = new SGD([a, b], lr: 0.5, momentum: 0.9);
        LinearGrad(a, 2.0);
        opt.Step();
        Near([0.0], Values(a));   // 1 - 0.5·2
        Near([5.0], Values(b));
        using var sd = opt.StateDict();
        Assert.Equal(["state.0.momentum_buffer"], sd.Tensors.Keys);
    }

    [Fact]
    public void NesterovWithoutMomentumIsRejected()
    {
        using var w = Param(1.0);
        Assert.Throws<ArgumentException>(() => new SGD([w], lr: 0.1, nesterov: true));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SGD([w], lr: -0.1));
    }

    [Fact]
    public void AParameterInTwoGroupsIsRejected()
    {
        using var w = Param(1.0);
        var ex = Assert.Throws<ArgumentException>(() => new SGD([new ParamGroup([w]), new ParamGroup([w])], lr: 0.1));
        Assert.Contains("another group", ex.Message);
    }
}
