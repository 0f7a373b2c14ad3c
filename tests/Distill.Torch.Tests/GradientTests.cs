using Distill.Torch;

namespace Distill.Torch.Tests;

/// <summary>Autograd gradients against central finite differences in float64.</summary>
public class GradientTests
{
    private static Tensor Rnd(long[] shape, ulong seed)
    {
        using var g = new Generator(seed);
        return torch.Randn(shape, g, DType.Float64);
    }

    /// <summary>Checks d f / d inputs[i] for every input by perturbing each element by +-h.</summary>
    private static void CheckGradients(Func<Tensor[], Tensor> f, params Tensor[] inputs)
    {
        foreach (var t in inputs) t.RequiresGrad = true;
        using (var scope = torch.NewDisposeScope())
        {
            var y = f(inputs);
            y.Backward();
        }
        const double h = 1e-6;
        foreach (var x in inputs)
        {
            using var grad = x.Grad ?? throw new Xunit.Sdk.XunitException("no gradient computed");
            var analytic = grad.ToArray<double>();
            var values = x.ToArray<double>();
            var numeric = new double[values.Length];
            for (int i = 0; i < values.Length; i++)
            {
                double Eval(double v)
                {
                    values[i] = v;
                    using (Autograd.NoGrad()) x.CopyFrom<double>(values);
                    using var scope = torch.NewDisposeScope();
                    using var _ = Autograd.NoGrad();
                    return f(inputs).ItemDouble();
                }
                double orig = values[i];
                numeric[i] = (Eval(orig + h) - Eval(orig - h)) / (2 * h);
                Eval(orig);
            }
            for (int i = 0; i < values.Length; i++)
                Assert.True(Math.Abs(analytic[i] - numeric[i]) <= 1e-5 * (1 + Math.Abs(numeric[i])),
                    $"element {i}: autograd {analytic[i]} vs finite difference {numeric[i]}");
        }
        foreach (var t in inputs) t.Dispose();
    }

    // A fixed random weighting makes every output element matter to the scalar.
    private static Tensor Project(Tensor y, ulong seed)
    {
        using var g = new Generator(seed);
        using var w = torch.Randn(y.Shape, g, DType.Float64);
        return (y * w).Sum();
    }

    [Fact]
    public void Conv2dWithGroupsAndDilation() => CheckGradients(
        t => Project(Functional.Conv2d(t[0], t[1], t[2], stride: (2, 1), padding: (1, 2), dilation: (1, 2), groups: 2), 9),
        Rnd([2, 4, 5, 6], 1), Rnd([6, 2, 3, 3], 2), Rnd([6], 3));

    [Fact]
    public void ConvTranspose2d() => CheckGradients(
        t => Project(Functional.ConvTranspose2d(t[0], t[1], t[2], stride: (2, 2), padding: (1, 1)), 9),
        Rnd([1, 3, 3, 4], 4), Rnd([3, 2, 4, 4], 5), Rnd([2], 6));

    // A fixed mask keeping about two thirds of the elements.
    private static Tensor Mask(long[] shape)
    {
        long n = shape.Aggregate(1L, (a, b) => a * b);
        return torch.FromArray(Enumerable.Range(0, (int)n).Select(i => i % 3 != 0).ToArray(), shape);
    }

    [Fact]
    public void MaskedSelectOfContiguousInput() => CheckGradients(
        t => { using var m = Mask([2, 3, 4]); return Project(t[0].MaskedSelect(m), 9); },
        Rnd([2, 3, 4], 10));

    // A permuted (dense but not row-major) view: the gradient must reach the elements that were selected, not the
    // ones at the same memory offsets.
    [Fact]
    public void MaskedSelectOfPermutedInput() => CheckGradients(
        t => { using var m = Mask([2, 3, 4]); using var v = t[0].Permute(0, 2, 1); return Project(v.MaskedSelect(m), 9); },
        Rnd([2, 4, 3], 11));

    // What a composite-field loss sees: a channels-last conv output reshaped to (N, fields, components, H, W) and one
    // component selected.
    [Fact]
    public void MaskedSelectOfChannelsLastComponent() => CheckGradients(
        t =>
        {
            using var m = Mask([2, 2, 3, 3]);
            using var cl = t[0].Contiguous(MemoryFormat.ChannelsLast);
            using var fields = cl.Reshape(2, 2, 2, 3, 3);
            using var component = fields.Select(2, 1);
            return Project(component.MaskedSelect(m), 9);
        },
        Rnd([2, 4, 3, 3], 12));

    [Fact]
    public void BatchNormTraining() => CheckGradients(
        t => Project(Functional.BatchNorm(t[0], null, null, t[1], t[2], training: true), 9),
        Rnd([3, 2, 2, 2], 7), Rnd([2], 8), Rnd([2], 9));

    [Fact]
    public void LayerNorm() => CheckGradients(
        t => Project(Functional.LayerNorm(t[0], [4], t[1], t[2], 1e-6), 9),
        Rnd([3, 4], 10), Rnd([4], 11), Rnd([4], 12));

    [Fact]
    public void Linear() => CheckGradients(
        t => Project(Functional.Linear(t[0], t[1], t[2]), 9),
        Rnd([3, 4], 13), Rnd([5, 4], 14), Rnd([5], 15));

    [Fact]
    public void MatMulBatched() => CheckGradients(
        t => Project(t[0].MatMul(t[1]), 9),
        Rnd([2, 3, 4], 16), Rnd([2, 4, 2], 17));

    [Fact]
    public void SoftmaxAndLogSoftmax() => CheckGradients(
        t => Project(Functional.Softmax(t[0], 1), 9) + Project(Functional.LogSoftmax(t[0], 0), 8),
        Rnd([3, 5], 18));

    [Fact]
    public void KlDivBothArguments() => CheckGradients(
        t => Functional.KlDiv(Functional.LogSoftmax(t[0], 1), Functional.Softmax(t[1], 1), Reduction.BatchMean),
        Rnd([3, 6], 19), Rnd([3, 6], 20));

    [Fact]
    public void KlDivValueMatchesDefinition()
    {
        // input = log q, target = p: sum p (log p - log q); p = (0.25, 0.75), q = (0.5, 0.5)
        using var logq = torch.From(Math.Log(0.5), Math.Log(0.5)).Unsqueeze(0);
        using var p = torch.From(0.25, 0.75).Unsqueeze(0);
        double expected = 0.25 * Math.Log(0.25 / 0.5) + 0.75 * Math.Log(0.75 / 0.5);
        using var sum = Functional.KlDiv(logq, p, Reduction.Sum);
        Assert.Equal(expected, sum.ItemDouble(), 12);
        using var mean = Functional.KlDiv(logq, p, Reduction.Mean);
        Assert.Equal(expected / 2, mean.ItemDouble(), 12);
    }

    [Fact]
    public void NoGradStopsTracking()
    {
        using var x = torch.Ones([2], requiresGrad: true);
        using (Autograd.NoGrad())
        {
            Assert.False(Autograd.IsGradEnabled);
            using var y = x * 2;
            Assert.False(y.RequiresGrad);
        }
        Assert.True(Autograd.IsGradEnabled);
        using (Autograd.InferenceMode())
        {
            using var z = x * 2;
            Assert.True(z.IsInference);
        }
    }

    [Fact]
    public void GradAccumulatesAndZeroGradClears()
    {
        using var x = torch.From(3.0).RequiresGrad_();
        for (int i = 0; i < 2; i++)
        {
            using var y = x * x;
            y.Backward();
        }
        using (var g = x.Grad!) Assert.Equal(12.0, g.ItemDouble()); // 2 * (2 * 3)
        x.ZeroGrad();
        Assert.Null(x.Grad);
        using var d = x.Detach();
        Assert.False(d.RequiresGrad);
    }

    [Fact]
    public void MseSmoothL1AndCrossEntropyValues()
    {
        using var scope = torch.NewDisposeScope();
        var a = torch.From(0.0, 1.0, 3.0);
        var b = torch.From(0.0, 0.0, 1.0);
        Assert.Equal((0 + 1 + 4) / 3.0, Functional.MseLoss(a, b).ItemDouble(), 12);
        // smooth L1 (beta 1): |d| < 1 -> 0.5 d^2, else |d| - 0.5: 0, 0.5, 1.5
        Assert.Equal(2.0, Functional.SmoothL1Loss(a, b, Reduction.Sum).ItemDouble(), 12);
        var logits = torch.FromArray(new[] { 1.0, 2.0, 3.0 }, [1, 3]);
        var target = torch.From(2L);
        double lse = Math.Log(Math.Exp(1) + Math.Exp(2) + Math.Exp(3));
        Assert.Equal(lse - 3, Functional.CrossEntropy(logits, target).ItemDouble(), 12);
    }
}
