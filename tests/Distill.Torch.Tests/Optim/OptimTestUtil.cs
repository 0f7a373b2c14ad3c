namespace Distill.Torch.Tests.Optim;

/// <summary>Leaf parameters and known gradients for optimizer tests, without any module.</summary>
internal static class OptimTestUtil
{
    public static Tensor Param(params double[] values) => torch.FromArray(values, [values.Length]).RequiresGrad_();

    /// <summary>Backward of loss = Σ c·w (gradient c, whatever w is).</summary>
    public static void LinearGrad(Tensor w, params double[] c)
    {
        using var scope = torch.NewDisposeScope();
        var ct = torch.FromArray(c, [c.Length]);
        (w * ct).Sum().Backward();
    }

    /// <summary>Backward of loss = Σ ½·c·w² (gradient c·w, so it changes as w moves).</summary>
    public static void QuadraticGrad(Tensor w, params double[] c)
    {
        using var scope = torch.NewDisposeScope();
        var ct = torch.FromArray(c, [c.Length]);
        (w * w * ct * 0.5).Sum().Backward();
    }

    public static double[] Values(Tensor t)
    {
        using var d = t.Detach();
        return d.ToArray<double>();
    }

    /// <summary>Equal to within a relative tolerance (for values far below 1, where digit counts mislead).</summary>
    public static void Rel(double expected, double actual, double rel = 1e-12) =>
        Assert.True(Math.Abs(expected - actual) <= rel * Math.Abs(expected), $"expected {expected:R}, got {actual:R}");

    public static void Near(double[] expected, double[] actual, double tol = 1e-12)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tol * Math.Max(1, Math.Abs(expected[i])),
                $"element {i}: expected {expected[i]:R}, got {actual[i]:R}");
    }
}

/// <summary>
/// The published update rules written out in plain doubles, one element at a time, independently of libtorch:
/// PyTorch 1.13's single-tensor SGD and Adam/AdamW.
/// </summary>
internal sealed class ReferenceSgd(double lr, double momentum, double dampening, double weightDecay, bool nesterov)
{
    private double[]? _buf;

    public void Step(double[] p, double[] g)
    {
        var d = new double[p.Length];
        for (int i = 0; i < p.Length; i++) d[i] = g[i] + weightDecay * p[i];
        if (momentum != 0)
        {
            if (_buf is null) _buf = (double[])d.Clone();
            else for (int i = 0; i < p.Length; i++) _buf[i] = momentum * _buf[i] + (1 - dampening) * d[i];
            for (int i = 0; i < p.Length; i++) d[i] = nesterov ? d[i] + momentum * _buf[i] : _buf[i];
        }
        for (int i = 0; i < p.Length; i++) p[i] -= lr * d[i];
    }
}

internal sealed class ReferenceAdam(double lr, double beta1, double beta2, double eps, double weightDecay, bool decoupled, bool amsgrad)
{
    private double[]? _m, _v, _vmax;
    private int _t;

    public void Step(double[] p, double[] g0)
    {
        int n = p.Length;
        _m ??= new double[n];
        _v ??= new double[n];
        _vmax ??= new double[n];
        _t++;
        for (int i = 0; i < n; i++)
        {
            double g = g0[i];
            if (decoupled) p[i] *= 1 - lr * weightDecay;
            else g += weightDecay * p[i];
            _m[i] = beta1 * _m[i] + (1 - beta1) * g;
            _v[i] = beta2 * _v[i] + (1 - beta2) * g * g;
            _vmax[i] = Math.Max(_vmax[i], _v[i]);
            double mHat = _m[i] / (1 - Math.Pow(beta1, _t));
            double vHat = (amsgrad ? _vmax[i] : _v[i]) / (1 - Math.Pow(beta2, _t));
            p[i] -= lr * mHat / (Math.Sqrt(vHat) + eps);
        }
    }
}
