using Distill.Torch;

namespace Distill.Torch.Tests;

public class TensorCoreTests
{
    [Fact]
    public void ElementwiseArithmeticMatchesHandValues()
    {
        using var scope = torch.NewDisposeScope();
        var a = torch.From(1f, 2f, 3f);
        var b = torch.From(10f, 20f, 30f);
        Assert.Equal(new[] { 11f, 22f, 33f }, (a + b).ToArray<float>());
        Assert.Equal(new[] { -9f, -18f, -27f }, (a - b).ToArray<float>());
        Assert.Equal(new[] { 10f, 40f, 90f }, (a * b).ToArray<float>());
        Assert.Equal(new[] { 0.5f, 1f, 1.5f }, (a / 2).ToArray<float>());
        Assert.Equal(new[] { 1f, 0f, -1f }, (2 - a).ToArray<float>());
        Assert.Equal(new[] { 2f, 1f, 2f / 3 }, (2 / a).ToArray<float>());
        Assert.Equal(new[] { 1f, 4f, 9f }, a.Pow(2).ToArray<float>());
        Assert.Equal(new[] { false, true, true }, a.Gt(1.5).ToArray<bool>());
    }

    [Fact]
    public void RoundIsHalfToEvenLikeNumpy()
    {
        using var t = torch.From(0.5, 1.5, 2.5, -0.5, -1.5);
        using var r = t.Round();
        Assert.Equal(new[] { 0.0, 2.0, 2.0, -0.0, -2.0 }, r.ToArray<double>());
    }

    [Fact]
    public void ActivationsMatchTheirDefinitions()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.From(-4.0, -1.0, 0.0, 1.0, 4.0);
        // hardsigmoid = clip(x / 6 + 0.5, 0, 1)
        Assert.Equal(new[] { 0.0, 1.0 / 3, 0.5, 2.0 / 3, 1.0 }, x.Hardsigmoid().ToArray<double>(), new Tol(1e-12));
        // silu = x * sigmoid(x)
        var silu = x.Silu().ToArray<double>();
        double[] xs = [-4, -1, 0, 1, 4];
        for (int i = 0; i < 5; i++) Assert.Equal(xs[i] / (1 + Math.Exp(-xs[i])), silu[i], 12);
        // exact gelu = x * Phi(x); Phi(1) = 0.8413447460685429
        Assert.Equal(0.8413447460685429, x.Gelu().ToArray<double>()[3], 12);
    }

    [Fact]
    public void ReductionsAndArgmax()
    {
        using var scope = torch.NewDisposeScope();
        var t = torch.FromArray(new float[] { 1, 5, 2, 7, 3, 0 }, [2, 3]);
        Assert.Equal(18f, t.Sum().ItemFloat());
        Assert.Equal(new[] { 8f, 10f }, t.Sum(1).ToArray<float>());
        Assert.Equal(new[] { 4f, 4f, 1f }, t.Mean(0).ToArray<float>());
        var (v, i) = t.Max(1);
        Assert.Equal(new[] { 5f, 7f }, v.ToArray<float>());
        Assert.Equal(new[] { 1L, 0L }, i.ToArray<long>());
        Assert.Equal(3L, t.ArgMax().ItemLong());
        // sqrt(1 + 25 + 4 + 49 + 9) = sqrt(88)
        Assert.Equal(Math.Sqrt(88), t.Norm().ItemDouble(), 5);
    }

    [Fact]
    public void ShapeOps()
    {
        using var scope = torch.NewDisposeScope();
        var t = torch.Arange(24).Reshape(2, 3, 4);
        Assert.Equal(new long[] { 4, 3, 2 }, t.Permute(2, 1, 0).Shape);
        Assert.Equal(new long[] { 2, 4, 3 }, t.Transpose(1, 2).Shape);
        Assert.Equal(new long[] { 6, 4 }, t.Flatten(0, 1).Shape);
        var parts = t.Split(1, 1);
        Assert.Equal(3, parts.Length);
        Assert.Equal(new long[] { 4, 5, 6, 7 }, parts[1].Select(0, 0).Squeeze().ToArray<long>());
        var cat = torch.Cat([parts[2], parts[0]], 1);
        Assert.Equal(new long[] { 8, 9, 10, 11, 0, 1, 2, 3 }, cat.Select(0, 0).Flatten().ToArray<long>());
        Assert.Equal(new long[] { 3, 2, 1, 0 }, t.Select(0, 0).Select(0, 0).Flip(0).ToArray<long>());
        var idx = torch.From(2L, 0L);
        Assert.Equal(new long[] { 2, 0 }, t.Select(0, 0).Select(0, 0).IndexSelect(0, idx).ToArray<long>());
        var g = torch.FromArray(new long[] { 1, 3 }, [2, 1]);
        Assert.Equal(new long[] { 1, 7 }, t.Select(0, 0).Narrow(0, 0, 2).Gather(1, g).Flatten().ToArray<long>());
        Assert.Equal(new long[] { 2, 1, 3, 4 }, t.Unsqueeze(1).Shape);
        Assert.Equal(new long[] { 2, 2, 3, 4 }, t.Unsqueeze(0).Expand(2, 2, 3, 4).Permute(1, 0, 2, 3).Shape);
        var st = torch.Stack([torch.From(1f), torch.From(2f)], 1);
        Assert.Equal(new long[] { 1, 2 }, st.Shape);
    }

    [Fact]
    public void WhereAndMaskedFill()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.From(1f, -2f, 3f);
        var m = x.Lt(0);
        Assert.Equal(new[] { 1f, 0f, 3f }, x.MaskedFill(m, 0).ToArray<float>());
        Assert.Equal(new[] { 1f, 2f, 3f }, torch.Where(m, -x, x).ToArray<float>());
    }

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float64)]
    [InlineData(DType.Float16)]
    [InlineData(DType.BFloat16)]
    [InlineData(DType.Int64)]
    [InlineData(DType.Int32)]
    [InlineData(DType.UInt8)]
    [InlineData(DType.Bool)]
    public void DTypesConvertAndReportThemselves(DType dtype)
    {
        using var scope = torch.NewDisposeScope();
        var t = torch.From(0f, 1f, 2f, 3f).To(dtype);
        Assert.Equal(dtype, t.DType);
        Assert.Equal(dtype.ElementSize(), t.ElementSize);
        var back = t.To(DType.Float64).ToArray<double>();
        Assert.Equal(dtype == DType.Bool ? new[] { 0.0, 1, 1, 1 } : new[] { 0.0, 1, 2, 3 }, back);
    }

    [Fact]
    public void ManagedArraysRoundTrip()
    {
        var data = new double[] { 1.5, -2.25, 3.125, 4, 5, 6 };
        using var t = torch.FromArray(data, [2, 3]);
        Assert.Equal(new long[] { 2, 3 }, t.Shape);
        Assert.Equal(data, t.ToArray<double>());
        var span = new double[6];
        using var tt = t.T().Contiguous();
        tt.CopyTo<double>(span);
        Assert.Equal(new[] { 1.5, 4, -2.25, 5, 3.125, 6 }, span);
        Assert.Throws<InvalidOperationException>(() => t.ToArray<float>());
        Assert.Throws<ArgumentException>(() => torch.FromArray(data, [4, 2]));
    }

    [Fact]
    public void FromBytesHonoursStridesAndOffset()
    {
        // storage 0..5 as float32, view of shape (2, 2) with strides (1, 2) starting at 1: [[1, 3], [2, 4]]
        var storage = new float[] { 0, 1, 2, 3, 4, 5 };
        var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(storage.AsSpan()).ToArray();
        using var t = torch.FromBytes(bytes, DType.Float32, [2, 2], [1, 2], 1);
        Assert.Equal(new float[] { 1, 3, 2, 4 }, t.ToArray<float>());
        Assert.Throws<TorchException>(() => torch.FromBytes(bytes, DType.Float32, [3, 3], [3, 1], 0));
    }

    [Fact]
    public void SeededGeneratorsAreReproducible()
    {
        using var g1 = new Generator(42);
        using var g2 = new Generator(42);
        using var a = torch.Randn([5], g1);
        var state = g1.GetStateBytes();
        using var b = torch.Randn([5], g2);
        Assert.Equal(a.ToArray<float>(), b.ToArray<float>());
        using var c = torch.Rand([3], g1);
        g1.SetStateBytes(state);
        using var d = torch.Rand([3], g1);
        Assert.Equal(c.ToArray<float>(), d.ToArray<float>());
        using var r = torch.RandInt(0, 5, [100], g1);
        Assert.True(r.Ge(0).All().ItemLong() == 1 && r.Lt(5).All().ItemLong() == 1);
    }

    [Fact]
    public void LinspaceAndArange()
    {
        using var l = torch.Linspace(0, 1, 5);
        Assert.Equal(new[] { 0f, 0.25f, 0.5f, 0.75f, 1f }, l.ToArray<float>());
        using var a = torch.Arange(1, 2, 0.25, DType.Float64);
        Assert.Equal(new[] { 1, 1.25, 1.5, 1.75 }, a.ToArray<double>());
    }

    [Fact]
    public void LikeConstructorsKeepAChannelsLastLayout()
    {
        using var x = torch.Rand([2, 3, 4, 5]);
        using var cl = x.Contiguous(MemoryFormat.ChannelsLast);
        using var z = torch.ZerosLike(cl);
        using var f = torch.FullLike(cl, 2.5);
        // (N, C, H, W) = (2, 3, 4, 5) channels-last: strides (H*W*C, 1, W*C, C) = (60, 1, 15, 3).
        Assert.Equal(new long[] { 60, 1, 15, 3 }, z.Strides);
        Assert.Equal(new long[] { 60, 1, 15, 3 }, f.Strides);
        Assert.All(f.ToArray<float>(), v => Assert.Equal(2.5f, v));
        Assert.All(z.ToArray<float>(), v => Assert.Equal(0f, v));
        using var plain = torch.OnesLike(x);
        Assert.Equal(new long[] { 60, 20, 5, 1 }, plain.Strides);
    }

    [Fact]
    public void ThreadCountIsSettable()
    {
        int before = torch.NumThreads;
        torch.NumThreads = 1;
        Assert.Equal(1, torch.NumThreads);
        torch.NumThreads = before;
        Assert.Equal(before, torch.NumThreads);
    }
}

/// <summary>Element-wise absolute tolerance for Assert.Equal on sequences.</summary>
internal sealed class Tol(double eps) : IEqualityComparer<double>
{
    public bool Equals(double a, double b) => Math.Abs(a - b) <= eps;
    public int GetHashCode(double v) => 0;
}
