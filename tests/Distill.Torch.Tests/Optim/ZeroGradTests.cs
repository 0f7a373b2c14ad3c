using Distill.Torch.Optim;
using static Distill.Torch.Tests.Optim.OptimTestUtil;

namespace Distill.Torch.Tests.Optim;

public class ZeroGradTests
{
    [Fact]
    public void ZeroGradDropsGradientsByDefault()
    {
        using var a = Param(1.0, 2.0);
        using var b = Param(3.0);
        using var opt = new SGD([new ParamGroup([a]), new ParamGroup([b])], lr: 0.1);
        LinearGrad(a, 4.0, 5.0);
        LinearGrad(b, 6.0);
        opt.ZeroGrad();
        Assert.Null(a.Grad);
        Assert.Null(b.Grad);
    }

    [Fact]
    public void ZeroGradCanZeroInPlace()
    {
        using var a = Param(1.0, 2.0);
        using var opt = new SGD([a], lr: 0.1);
        LinearGrad(a, 4.0, 5.0);
        opt.ZeroGrad(setToNone: false);
        using var g = a.Grad;
        Assert.NotNull(g);
        Assert.Equal([0.0, 0.0], g!.ToArray<double>());
        // A following backward accumulates onto zeros, not onto the old gradient.
        LinearGrad(a, 1.0, 1.0);
        using var g2 = a.Grad;
        Assert.Equal([1.0, 1.0], g2!.ToArray<double>());
    }
}
