namespace Distill.Pose.Transforms;

/// <summary>
/// The random stream of one sample: xoshiro256** seeded through SplitMix64 from (seed, epoch, sample index) only,
/// so a sample's augmentation is the same whichever thread draws it and in whatever order. Not thread-safe: one
/// instance per sample.
/// </summary>
public sealed class SampleRandom
{
    private ulong _s0, _s1, _s2, _s3;

    public SampleRandom(ulong seed, long epoch, long sampleIndex)
    {
        // Chain the three keys through the SplitMix64 finaliser so that nearby (epoch, index) pairs give unrelated streams.
        ulong key = Mix(seed ^ 0x243F6A8885A308D3UL);
        key = Mix(key ^ unchecked((ulong)epoch) * 0x9E3779B97F4A7C15UL);
        key = Mix(key ^ unchecked((ulong)sampleIndex) * 0xD1B54A32D192ED03UL);
        ulong sm = key;
        _s0 = SplitMix(ref sm);
        _s1 = SplitMix(ref sm);
        _s2 = SplitMix(ref sm);
        _s3 = SplitMix(ref sm);
        if ((_s0 | _s1 | _s2 | _s3) == 0) _s0 = 1;
    }

    public SampleRandom(ulong seed) : this(seed, 0, 0)
    {
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private static ulong SplitMix(ref ulong state)
    {
        state += 0x9E3779B97F4A7C15UL;
        return Mix(state);
    }

    public ulong NextUInt64()
    {
        ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [low, high).</summary>
    public double Uniform(double low, double high) => low + (high - low) * NextDouble();

    /// <summary>True with probability <paramref name="p"/> (as <c>rand() &lt; p</c>).</summary>
    public bool Chance(double p) => NextDouble() < p;

    /// <summary>Uniform integer in [low, high], both ends included (Python's <c>random.randint</c>).</summary>
    public int NextInt(int low, int highInclusive)
    {
        if (highInclusive < low) throw new ArgumentOutOfRangeException(nameof(highInclusive), $"empty range [{low}, {highInclusive}]");
        ulong span = (ulong)((long)highInclusive - low + 1);
        // Rejection keeps the draw exactly uniform.
        ulong limit = ulong.MaxValue - ulong.MaxValue % span;
        ulong r;
        do r = NextUInt64(); while (r >= limit);
        return (int)(low + (long)(r % span));
    }

    /// <summary>A standard normal draw (Marsaglia's polar method, one value per accepted pair).</summary>
    public double Normal()
    {
        double u, v, s;
        do
        {
            u = 2 * NextDouble() - 1;
            v = 2 * NextDouble() - 1;
            s = u * u + v * v;
        } while (s >= 1 || s == 0);
        return u * Math.Sqrt(-2 * Math.Log(s) / s);
    }

    /// <summary>
    /// A standard normal truncated to [low, high] (scipy's <c>truncnorm(low, high)</c>, as mmpose's
    /// <c>_truncnorm</c> uses it), by rejection.
    /// </summary>
    public double TruncatedNormal(double low = -1, double high = 1)
    {
        if (!(low < high)) throw new ArgumentOutOfRangeException(nameof(high), $"empty truncation range [{low}, {high}]");
        if (low > 4 || high < -4) throw new ArgumentOutOfRangeException(nameof(low), "truncation range too far in the tail for rejection");
        double x;
        do x = Normal(); while (x < low || x > high);
        return x;
    }
}
