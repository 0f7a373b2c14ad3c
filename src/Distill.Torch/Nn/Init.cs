namespace Distill.Torch.Nn;

/// <summary>Weight initialisers (torch.nn.init), in place, drawing from libtorch's seeded default generator unless given one.</summary>
public static class Init
{
    /// <summary>(fan_in, fan_out) as PyTorch computes them for linear and conv weights.</summary>
    public static (long FanIn, long FanOut) CalculateFans(Tensor t)
    {
        var s = t.Shape;
        if (s.Length < 2) throw new ArgumentException("fan in/out needs a tensor of at least 2 dimensions");
        long receptive = 1;
        for (int i = 2; i < s.Length; i++) receptive *= s[i];
        return (s[1] * receptive, s[0] * receptive);
    }

    public static double CalculateGain(string nonlinearity, double param = 0.01) => nonlinearity switch
    {
        "linear" or "conv2d" or "sigmoid" => 1.0,
        "tanh" => 5.0 / 3,
        "relu" => Math.Sqrt(2.0),
        "leaky_relu" => Math.Sqrt(2.0 / (1 + param * param)),
        "selu" => 3.0 / 4,
        _ => throw new ArgumentException($"unknown nonlinearity '{nonlinearity}'"),
    };

    public static Tensor Uniform_(Tensor t, double a = 0, double b = 1, Generator? g = null) => t.Uniform_(a, b, g);

    public static Tensor Normal_(Tensor t, double mean = 0, double std = 1, Generator? g = null) => t.Normal_(mean, std, g);

    public static Tensor Constant_(Tensor t, double value) => t.Fill_(value);

    public static Tensor Zeros_(Tensor t) => t.Zero_();

    public static Tensor Ones_(Tensor t) => t.Fill_(1);

    public static Tensor KaimingUniform_(Tensor t, double a = 0, bool fanIn = true, string nonlinearity = "leaky_relu", Generator? g = null)
    {
        var (fi, fo) = CalculateFans(t);
        double std = CalculateGain(nonlinearity, a) / Math.Sqrt(fanIn ? fi : fo);
        double bound = Math.Sqrt(3.0) * std;
        return t.Uniform_(-bound, bound, g);
    }

    public static Tensor KaimingNormal_(Tensor t, double a = 0, bool fanIn = true, string nonlinearity = "leaky_relu", Generator? g = null)
    {
        var (fi, fo) = CalculateFans(t);
        return t.Normal_(0, CalculateGain(nonlinearity, a) / Math.Sqrt(fanIn ? fi : fo), g);
    }

    public static Tensor XavierUniform_(Tensor t, double gain = 1, Generator? g = null)
    {
        var (fi, fo) = CalculateFans(t);
        double a = gain * Math.Sqrt(6.0 / (fi + fo));
        return t.Uniform_(-a, a, g);
    }

    public static Tensor XavierNormal_(Tensor t, double gain = 1, Generator? g = null)
    {
        var (fi, fo) = CalculateFans(t);
        return t.Normal_(0, gain * Math.Sqrt(2.0 / (fi + fo)), g);
    }

    /// <summary>
    /// Normal(mean, std) truncated to [a, b], by inverse-CDF sampling of a uniform on the truncated CDF range
    /// (PyTorch's method), so samples never need rejection.
    /// </summary>
    public static Tensor TruncNormal_(Tensor t, double mean = 0, double std = 1, double a = -2, double b = 2, Generator? g = null)
    {
        static double NormCdf(double x) => (1 + Erf(x / Math.Sqrt(2))) / 2;
        double lo = NormCdf((a - mean) / std), hi = NormCdf((b - mean) / std);
        using (Autograd.NoGrad())
        {
            t.Uniform_(2 * lo - 1, 2 * hi - 1, g);
            t.Erfinv_();
            t.Mul_(std * Math.Sqrt(2)).Add_(mean);
            t.Clamp_(a, b);
        }
        return t;
    }

    // Abramowitz-Stegun 7.1.26 is too coarse for CDF bounds; use a series/continued-fraction pair instead.
    internal static double Erf(double x)
    {
        double ax = Math.Abs(x);
        double r;
        if (ax < 2.5)
        {
            double sum = ax, term = ax, x2 = ax * ax;
            for (int n = 1; n < 100; n++)
            {
                term *= -x2 / n;
                double add = term / (2 * n + 1);
                sum += add;
                if (Math.Abs(add) < 1e-17) break;
            }
            r = 2 / Math.Sqrt(Math.PI) * sum;
        }
        else
        {
            // Continued fraction for erfc.
            double f = 0;
            for (int n = 60; n >= 1; n--) f = n / 2.0 / (ax + f);
            r = 1 - Math.Exp(-ax * ax) / Math.Sqrt(Math.PI) / (ax + f);
        }
        return x < 0 ? -r : r;
    }
}
