namespace Distill.Pose.Codecs;

/// <summary>
/// float32 exp and log computed the way numpy's vectorised x86 loops (AVX2/FMA3 and AVX512F) compute them, so
/// targets and DARK decodes agree bit for bit with mmpose running on numpy. Those loops are not correctly rounded
/// (up to about 2.5 ulp for exp and 3.8 ulp for log), and DARK's Newton step on nearly flat maps is sensitive
/// enough for one ulp to move a keypoint by 1e-3 pixels.
/// </summary>
/// <remarks>
/// exp: k = nearest integer to x log2(e), r = x - k ln 2 in two fused steps (Cody-Waite), a degree 5/2 rational
/// approximation of exp(r), scaled by 2^k. log: split x into 2^e m with m in (sqrt(1/2), sqrt(2)], a degree 5/5
/// rational approximation of log(m) in m - 1, plus e ln 2. The minimax coefficients are numpy's.
/// </remarks>
internal static class NumpyFloat32
{
    private const float ExpMax = 88.72283935546875f;
    private const float ExpMin = -103.97208404541015625f;
    private const float RoundMagic = 12582912f; // 1.5 * 2^23: adding and subtracting it rounds to an integer
    private const float Log2E = 1.442695040888963407359924681001892137f;
    private const float Ln2High = -6.93145752e-1f;
    private const float Ln2Low = -1.42860677e-6f;
    private const float Ln2 = 0.693147180559945309417232121458176568f;
    private const float Sqrt1Half = 0.707106781186547524400844362104849039f;

    private static readonly float[] ExpP =
    [
        9.999999999980870924916e-01f, 7.257664613233124478488e-01f, 2.473615434895520810817e-01f,
        5.114512081637298353406e-02f, 6.757896990527504603057e-03f, 5.082762527590693718096e-04f,
    ];

    private static readonly float[] ExpQ = [1.0f, -2.742335390411667452936e-01f, 2.159509375685829852307e-02f];

    private static readonly float[] LogP =
    [
        0.0f, 9.999999999999998702752e-01f, 2.112677543073053063722e+00f,
        1.480000633576506585156e+00f, 3.808837741388407920751e-01f, 2.589979117907922693523e-02f,
    ];

    private static readonly float[] LogQ =
    [
        1.0f, 2.612677543073109236779e+00f, 2.453006071784736363091e+00f,
        9.864942958519418960339e-01f, 1.546476374983906719538e-01f, 5.875095403124574342950e-03f,
    ];

    public static float Exp(float x)
    {
        if (float.IsNaN(x)) return x;
        if (x >= ExpMax) return float.PositiveInfinity;
        if (x <= ExpMin) return 0f;
        float k = x * Log2E;
        k = (k + RoundMagic) - RoundMagic;
        float r = MathF.FusedMultiplyAdd(k, Ln2High, x);
        r = MathF.FusedMultiplyAdd(k, Ln2Low, r);
        float num = Horner(ExpP, r);
        float den = Horner(ExpQ, r);
        // Scaling in double rounds once, also when the result is subnormal, as the vector scale does.
        return (float)((double)(num / den) * Math.ScaleB(1.0, (int)k));
    }

    public static float Log(float x)
    {
        if (float.IsNaN(x) || x < 0f) return float.NaN;
        if (x == 0f) return float.NegativeInfinity;
        if (float.IsPositiveInfinity(x)) return x;
        float exponentOffset = 0f;
        if (x < 1.17549435e-38f) // smallest normal float
        {
            x *= 1.2676506e30f; // 2^100 brings subnormals into the normal range
            exponentOffset = -100f;
        }
        uint bits = BitConverter.SingleToUInt32Bits(x);
        float e = (int)(bits >> 23) - 126 + exponentOffset;
        float m = BitConverter.UInt32BitsToSingle((bits & 0x7FFFFFu) | (126u << 23)); // in [0.5, 1)
        if (m <= Sqrt1Half)
        {
            m += m;
            e -= 1f;
        }
        float t = m - 1f;
        float poly = Horner(LogP, t) / Horner(LogQ, t);
        return MathF.FusedMultiplyAdd(e, Ln2, poly);
    }

    // c[n] t^n + ... + c[0] by fused multiply-adds from the highest coefficient.
    private static float Horner(float[] c, float t)
    {
        float acc = MathF.FusedMultiplyAdd(c[^1], t, c[^2]);
        for (int i = c.Length - 3; i >= 0; i--) acc = MathF.FusedMultiplyAdd(acc, t, c[i]);
        return acc;
    }
}
