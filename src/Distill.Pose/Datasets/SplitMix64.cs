namespace Distill.Pose.Datasets;

/// <summary>
/// SplitMix64: a tiny generator whose output is fixed by its definition, so that epoch orders are the same on
/// every machine and .NET version (System.Random makes no such promise).
/// </summary>
internal struct SplitMix64
{
    private ulong _state;

    public SplitMix64(ulong seed) => _state = seed;

    /// <summary>A generator for one named stream of one seed: streams with different keys are independent.</summary>
    public static SplitMix64 ForStream(long seed, params long[] keys)
    {
        ulong s = Mix((ulong)seed ^ 0x243F6A8885A308D3UL);
        foreach (long k in keys) s = Mix(s ^ (ulong)k * 0x9E3779B97F4A7C15UL + 0x13198A2E03707344UL);
        return new SplitMix64(s);
    }

    public ulong Next()
    {
        _state += 0x9E3779B97F4A7C15UL;
        return Mix(_state);
    }

    /// <summary>Uniform integer in [0, n) without modulo bias (rejection of the short tail).</summary>
    public int NextBelow(int n)
    {
        ulong bound = (ulong)n;
        ulong limit = ulong.MaxValue - ulong.MaxValue % bound;
        ulong r;
        do r = Next(); while (r >= limit);
        return (int)(r % bound);
    }

    /// <summary>Fisher-Yates shuffle in place.</summary>
    public void Shuffle(Span<int> items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = NextBelow(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
