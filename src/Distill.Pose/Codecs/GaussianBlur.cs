namespace Distill.Pose.Codecs;

/// <summary>
/// Gaussian smoothing of float32 heatmaps with OpenCV's <c>GaussianBlur</c> arithmetic, as DARK decoding needs it.
/// </summary>
/// <remarks>
/// mmpose pads each heatmap with kernelSize / 2 zeros on every side before blurring and crops the result, so the
/// border rule of OpenCV never reaches a kept pixel: the result is a zero-padded separable convolution. The kernel
/// and the summation order (horizontal pass accumulating taps left to right with fused multiply-add, then a
/// vertical pass that pairs symmetric taps) follow OpenCV's float path, which makes kernels of 7 taps and more
/// agree with OpenCV (4.6, x86-64) bit for bit. OpenCV runs 3- and 5-tap kernels through a different summation, so
/// those can differ from it in the last bit.
/// </remarks>
public static class GaussianBlur
{
    /// <summary>
    /// The normalised 1-D kernel OpenCV's <c>getGaussianKernel(size, sigma, CV_32F)</c> returns. A sigma of 0 or
    /// less means OpenCV's default 0.3 * ((size - 1) * 0.5 - 1) + 0.8, with its fixed tables for 3 to 9 taps.
    /// </summary>
    public static float[] Kernel(int size, double sigma = 0)
    {
        if (size <= 0 || size % 2 == 0) throw new ArgumentOutOfRangeException(nameof(size), size, "kernel size must be odd and positive");
        if (sigma <= 0)
        {
            // OpenCV uses exact dyadic weights for the small default kernels.
            switch (size)
            {
                case 1: return [1f];
                case 3: return [0.25f, 0.5f, 0.25f];
                case 5: return [0.0625f, 0.25f, 0.375f, 0.25f, 0.0625f];
                case 7: return [0.03125f, 0.109375f, 0.21875f, 0.28125f, 0.21875f, 0.109375f, 0.03125f];
                case 9: return [0.015625f, 0.05078125f, 0.1171875f, 0.19921875f, 0.234375f, 0.19921875f, 0.1171875f, 0.05078125f, 0.015625f];
            }
            sigma = 0.3 * ((size - 1) * 0.5 - 1) + 0.8;
        }
        int r = size / 2;
        var w = new double[size];
        double sum = 0;
        for (int i = 0; i < size; i++)
        {
            double d = i - r;
            w[i] = Math.Exp(-d * d / (2 * sigma * sigma));
            sum += w[i];
        }
        var k = new float[size];
        for (int i = 0; i < size; i++) k[i] = (float)(w[i] / sum);
        return k;
    }

    /// <summary>
    /// Blurs a row-major (height, width) plane in place as if it were surrounded by zeros, with the default
    /// sigma for <paramref name="kernelSize"/>.
    /// </summary>
    public static void ZeroPadded(Span<float> plane, int height, int width, int kernelSize)
    {
        if (plane.Length != height * width)
            throw new ArgumentException($"plane has {plane.Length} values, not {height} x {width}", nameof(plane));
        var k = Kernel(kernelSize);
        int r = kernelSize / 2;

        // Horizontal pass into rows padded by r zeros above and below, ready for the vertical pass.
        var rows = new float[(height + 2 * r) * width];
        for (int y = 0; y < height; y++)
        {
            var src = plane.Slice(y * width, width);
            var dst = rows.AsSpan((y + r) * width, width);
            for (int x = 0; x < width; x++)
            {
                float s = 0f;
                for (int t = 0; t < kernelSize; t++)
                {
                    int xx = x + t - r;
                    float v = (uint)xx < (uint)width ? src[xx] : 0f;
                    s = MathF.FusedMultiplyAdd(v, k[t], s);
                }
                dst[x] = s;
            }
        }

        float centre = k[r];
        for (int y = 0; y < height; y++)
        {
            int c = (y + r) * width;
            for (int x = 0; x < width; x++)
            {
                float s = rows[c + x] * centre;
                for (int t = 1; t <= r; t++)
                    s = MathF.FusedMultiplyAdd(rows[c + t * width + x] + rows[c - t * width + x], k[r + t], s);
                plane[y * width + x] = s;
            }
        }
    }

    /// <summary>
    /// DARK's heatmap modulation: blur (zero padded) and rescale so the plane keeps its original maximum. An
    /// all-zero plane becomes NaN (0 / 0), as it does in mmpose; decoders rely on that to flag it.
    /// </summary>
    public static void Modulate(Span<float> plane, int height, int width, int kernelSize)
    {
        float before = Max(plane);
        ZeroPadded(plane, height, width, kernelSize);
        float after = Max(plane);
        float scale = before / after;
        for (int i = 0; i < plane.Length; i++) plane[i] *= scale;
    }

    // numpy's max: NaN propagates.
    private static float Max(ReadOnlySpan<float> v)
    {
        float m = v[0];
        foreach (float x in v)
        {
            if (float.IsNaN(x)) return x;
            if (x > m) m = x;
        }
        return m;
    }
}
