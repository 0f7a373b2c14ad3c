using Rgb = (byte R, byte G, byte B);

namespace Distill.Pose.Synthetic;

/// <summary>Colour arithmetic for the synthetic scenes.</summary>
internal static class Palette
{
    public static Rgb Lerp(Rgb a, Rgb b, double t) => (L(a.R, b.R, t), L(a.G, b.G, t), L(a.B, b.B, t));

    public static Rgb Scale(Rgb c, double f) => (B(c.R * f), B(c.G * f), B(c.B * f));

    public static Rgb Jitter(Rgb c, SynthRandom rng, double amount) =>
        (B(c.R + rng.Uniform(-amount, amount)), B(c.G + rng.Uniform(-amount, amount)), B(c.B + rng.Uniform(-amount, amount)));

    /// <summary>h in [0, 360), s and v in [0, 1].</summary>
    public static Rgb FromHsv(double h, double s, double v)
    {
        h = ((h % 360) + 360) % 360 / 60.0;
        int i = (int)Math.Floor(h);
        double f = h - i, p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
        (double r, double g, double b) = i switch
        {
            0 => (v, t, p),
            1 => (q, v, p),
            2 => (p, v, t),
            3 => (p, q, v),
            4 => (t, p, v),
            _ => (v, p, q),
        };
        return (B(r * 255), B(g * 255), B(b * 255));
    }

    public static Rgb Random(SynthRandom rng) => FromHsv(rng.Uniform(0, 360), rng.Uniform(0, 1), rng.Uniform(0.1, 1));

    public static readonly Rgb White = (255, 255, 255);
    public static readonly Rgb Black = (0, 0, 0);

    private static byte L(byte a, byte b, double t) => B(a + (b - a) * t);

    public static byte B(double v) => (byte)Math.Clamp(Math.Round(v), 0, 255);
}
