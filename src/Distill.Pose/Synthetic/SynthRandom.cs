namespace Distill.Pose.Synthetic;

/// <summary>
/// xoshiro256** seeded through SplitMix64. Each image gets its own stream derived from (seed, dataset, index) alone,
/// so the output does not depend on thread scheduling, and the bits are the same on every .NET version
/// (System.Random's algorithm is not a documented contract).
/// </summary>
internal sealed class SynthRandom
{
    private ulong _s0, _s1, _s2, _s3;

    public SynthRandom(ulong seed)
    {
        ulong x = seed;
        _s0 = SplitMix(ref x);
        _s1 = SplitMix(ref x);
        _s2 = SplitMix(ref x);
        _s3 = SplitMix(ref x);
    }

    /// <summary>The stream for one image of one dataset.</summary>
    public static SynthRandom For(long seed, int dataset, int index)
    {
        ulong h = Mix((ulong)seed);
        h = Mix(h ^ (0x9E3779B97F4A7C15UL * (ulong)(dataset + 1)));
        h = Mix(h ^ (0xD1B54A32D192ED03UL * (ulong)(index + 1)));
        return new SynthRandom(h);
    }

    private static ulong SplitMix(ref ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        return Mix(x);
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public ulong NextULong()
    {
        ulong result = RotL(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = RotL(_s3, 45);
        return result;
    }

    private static ulong RotL(ulong x, int k) => (x << k) | (x >> (64 - k));

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (NextULong() >> 11) * (1.0 / (1UL << 53));

    public double Uniform(double lo, double hi) => lo + (hi - lo) * NextDouble();

    /// <summary>Uniform integer in [lo, hi).</summary>
    public int Int(int lo, int hi) => lo + (int)((NextULong() >> 33) % (ulong)(hi - lo));

    public bool Chance(double p) => NextDouble() < p;

    public double Normal(double mean = 0, double std = 1)
    {
        // Box-Muller; one value per call keeps the stream position easy to reason about.
        double u1 = 1.0 - NextDouble();
        double u2 = NextDouble();
        return mean + std * Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    public T Pick<T>(IReadOnlyList<T> items) => items[Int(0, items.Count)];

    /// <summary>Index chosen with probability proportional to its weight.</summary>
    public int Weighted(ReadOnlySpan<double> weights)
    {
        double total = 0;
        foreach (var w in weights) total += w;
        double r = NextDouble() * total;
        for (int i = 0; i < weights.Length; i++)
        {
            r -= weights[i];
            if (r < 0) return i;
        }
        return weights.Length - 1;
    }
}
