using Distill.Torch.Optim;
using static Distill.Torch.Tests.Optim.OptimTestUtil;

namespace Distill.Torch.Tests.Optim;

public class GradientsTests
{
    [Fact]
    public void ClipGradNormScalesAllGradientsToTheMaximum()
    {
        using var a = Param(0.0, 0.0);
        using var b = Param(0.0);
        using var unused = Param(0.0);
        LinearGrad(a, 3.0, 4.0);   // norm 5
        LinearGrad(b, 12.0);       // norm 12
        // Total 2-norm = √(5² + 12²) = 13; coefficient = 6.5 / (13 + 1e-6).
        double total = Gradients.ClipGradNorm([a, b, unused], maxNorm: 6.5);
        Assert.Equal(13.0, total, 12);
        double coef = 6.5 / (13 + 1e-6);
        using var ga = a.Grad!;
        using var gb = b.Grad!;
        Near([3 * coef, 4 * coef], ga.ToArray<double>());
        Near([12 * coef], gb.ToArray<double>());
        // torch.nn.utils.clip_grad_norm_ (PyTorch 1.13, float64) on the same gradients returns 13.0 and leaves
        // [1.4999998846153937, 1.9999998461538582] and [5.999999538461575].
        Assert.Equal([1.4999998846153937, 1.9999998461538582], ga.ToArray<double>());
        Assert.Equal([5.999999538461575], gb.ToArray<double>());
        Assert.Null(unused.Grad);
    }

    [Fact]
    public void TotalNormMeasuresWithoutScaling()
    {
        using var a = Param(0.0, 0.0);
        using var b = Param(0.0);
        LinearGrad(a, 3.0, 4.0);
        LinearGrad(b, 12.0);
        // √(3² + 4² + 12²) = 13 for the 2-norm; the largest magnitude, 12, for the infinity norm.
        Assert.Equal(13.0, Gradients.TotalNorm([a, b]), 12);
        Assert.Equal(12.0, Gradients.TotalNorm([a, b], double.PositiveInfinity), 12);
        using var ga = a.Grad!;
        using var gb = b.Grad!;
        Assert.Equal([3.0, 4.0], ga.ToArray<double>());
        Assert.Equal([12.0], gb.ToArray<double>());
    }

    [Fact]
    public void ClipGradValueClampsEachElement()
    {
        using var a = Param(0.0, 0.0, 0.0);
        using var unused = Param(0.0);
        LinearGrad(a, 3.0, -12.0, 0.5);
        Gradients.ClipGradValue([a, unused], 2.0);
        using var ga = a.Grad!;
        Assert.Equal([2.0, -2.0, 0.5], ga.ToArray<double>());
        Assert.Null(unused.Grad);
        Assert.Throws<ArgumentOutOfRangeException>(() => Gradients.ClipGradValue([a], 0));
    }

    [Fact]
    public void ClipGradNormLeavesSmallGradientsAlone()
    {
        using var a = Param(0.0, 0.0);
        LinearGrad(a, 3.0, 4.0);
        Assert.Equal(5.0, Gradients.ClipGradNorm([a], maxNorm: 100), 12);
        using var g = a.Grad!;
        Assert.Equal([3.0, 4.0], g.ToArray<double>());
    }

    [Fact]
    public void ClipGradNormSupportsOtherNorms()
    {
        using var a = Param(0.0, 0.0);
        using var b = Param(0.0);
        LinearGrad(a, 3.0, -4.0);
        LinearGrad(b, 2.0);
        // Infinity norm: the largest |g| = 4. 1-norm: 3 + 4 + 2 = 9.
        Assert.Equal(4.0, Gradients.ClipGradNorm([a, b], maxNorm: 1000, normType: double.PositiveInfinity), 12);
        Assert.Equal(9.0, Gradients.ClipGradNorm([a, b], maxNorm: 1000, normType: 1), 12);
        // With no gradients at all the norm is 0.
        using var c = Param(1.0);
        Assert.Equal(0.0, Gradients.ClipGradNorm([c], maxNorm: 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Gradients.ClipGradNorm([a], maxNorm: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Gradients.ClipGradNorm([a], maxNorm: 1, normType: -1));
    }

    [Fact]
    public void GradsAreFiniteSpotsNaNAndInfinity()
    {
        using var a = Param(1.0, 2.0);
        using var b = Param(1.0);
        using var none = Param(1.0);
        LinearGrad(a, 1.0, 2.0);
        LinearGrad(b, 3.0);
        Assert.True(Gradients.GradsAreFinite([a, b, none]));

        LinearGrad(b, double.NaN); // accumulates: 3 + NaN
        Assert.False(Gradients.GradsAreFinite([a, b]));
        Assert.True(Gradients.GradsAreFinite([a]));

        b.ZeroGrad();
        LinearGrad(b, double.NegativeInfinity);
        Assert.False(Gradients.GradsAreFinite([a, b]));
    }
}
