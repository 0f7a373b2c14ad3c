namespace Distill.Pose.Codecs;

/// <summary>
/// Sub-pixel refinement of heatmap maxima for one instance's (K, H, W) heatmaps, in heatmap pixels. The float32
/// and float64 steps mirror mmpose's numpy code so decoded keypoints agree with its fixtures.
/// </summary>
internal static class HeatmapRefinement
{
    /// <summary>
    /// Classic refinement: a quarter pixel toward the larger neighbour on each axis. mmpose's bounds are kept as
    /// they are: x moves only when 1 &lt; x &lt; W - 1 (and 0 &lt; y &lt; H), y only when 1 &lt; y &lt; H - 1
    /// (and 0 &lt; x &lt; W), so a maximum in column 1 or row 1 does not move along that axis.
    /// </summary>
    public static void QuarterOffset(Span<float> xs, Span<float> ys, ReadOnlySpan<float> heatmaps, int height, int width)
    {
        int plane = height * width;
        for (int k = 0; k < xs.Length; k++)
        {
            var h = heatmaps.Slice(k * plane, plane);
            int x = (int)xs[k], y = (int)ys[k];
            float dx = 1 < x && x < width - 1 && 0 < y && y < height ? h[y * width + x + 1] - h[y * width + x - 1] : 0f;
            float dy = 1 < y && y < height - 1 && 0 < x && x < width ? h[(y + 1) * width + x] - h[(y - 1) * width + x] : 0f;
            xs[k] += Sign(dx) * 0.25f;
            ys[k] += Sign(dy) * 0.25f;
        }
    }

    /// <summary>
    /// DARK refinement (MSRAHeatmap with unbiased = true): blur, take logs, and apply one Newton step from the
    /// integer maximum using central differences. Maxima within 2 pixels of the border are left as they are.
    /// </summary>
    public static void Dark(Span<float> xs, Span<float> ys, ReadOnlySpan<float> heatmaps, int height, int width, int blurKernelSize)
    {
        int plane = height * width;
        var logs = heatmaps.ToArray();
        for (int k = 0; k < xs.Length; k++)
        {
            var h = logs.AsSpan(k * plane, plane);
            GaussianBlur.Modulate(h, height, width, blurKernelSize);
            for (int i = 0; i < h.Length; i++) h[i] = NumpyFloat32.Log(MaxPropagatingNaN(h[i], 1e-10f));
        }

        for (int k = 0; k < xs.Length; k++)
        {
            int x = (int)xs[k], y = (int)ys[k];
            if (!(1 < x && x < width - 2 && 1 < y && y < height - 2)) continue;
            int origin = k * plane;
            float At(int yy, int xx) => logs[origin + yy * width + xx];

            // mmpose works on numpy float32 scalars here, and numpy promotes a float32 scalar combined with a
            // Python number to float64: differences of two samples stay float32, everything scaled is float64.
            double dx = 0.5 * (At(y, x + 1) - At(y, x - 1));
            double dy = 0.5 * (At(y + 1, x) - At(y - 1, x));
            double dxx = 0.25 * ((double)At(y, x + 2) - 2.0 * At(y, x) + At(y, x - 2));
            double dxy = 0.25 * (At(y + 1, x + 1) - At(y - 1, x + 1) - At(y + 1, x - 1) + At(y - 1, x - 1));
            double dyy = 0.25 * ((double)At(y + 2, x) - 2.0 * At(y, x) + At(y - 2, x));
            if (dxx * dyy - dxy * dxy == 0) continue;

            var (i00, i01, i10, i11) = Inverse(dxx, dxy, dxy, dyy);
            xs[k] = (float)(xs[k] + (-i00 * dx + -i01 * dy));
            ys[k] = (float)(ys[k] + (-i10 * dx + -i11 * dy));
        }
    }

    /// <summary>
    /// DARK-UDP refinement (UDPHeatmap): blur, clip to [1e-3, 50], take logs, pad by replicating the edge and apply
    /// one Newton step. mmpose reads the neighbours from the flattened padded stack of all K maps; a maximum of
    /// (-1, -1) (no positive value) therefore reads neighbours from the previous map, or wraps to the end of the
    /// stack for the first one. That behaviour is reproduced because decoded fixtures depend on it.
    /// </summary>
    public static void DarkUdp(Span<float> xs, Span<float> ys, ReadOnlySpan<float> heatmaps, int height, int width, int blurKernelSize)
    {
        int plane = height * width;
        int pw = width + 2, ph = height + 2, paddedPlane = pw * ph;
        int channels = xs.Length;
        var padded = new float[channels * paddedPlane];
        var work = new float[plane];
        for (int k = 0; k < channels; k++)
        {
            heatmaps.Slice(k * plane, plane).CopyTo(work);
            GaussianBlur.Modulate(work, height, width, blurKernelSize);
            for (int i = 0; i < work.Length; i++) work[i] = NumpyFloat32.Log(ClipPropagatingNaN(work[i], 1e-3f, 50f));
            var p = padded.AsSpan(k * paddedPlane, paddedPlane);
            for (int py = 0; py < ph; py++)
            {
                int sy = Math.Clamp(py - 1, 0, height - 1);
                for (int px = 0; px < pw; px++)
                    p[py * pw + px] = work[sy * width + Math.Clamp(px - 1, 0, width - 1)];
            }
        }

        const double eps = 1.1920928955078125e-07; // float32 machine epsilon, added to the Hessian's diagonal
        for (int k = 0; k < channels; k++)
        {
            // The flat index is formed in float32 as in numpy; all terms are small integers, so it is exact.
            long index = (long)((xs[k] + 1f) + (ys[k] + 1f) * pw) + (long)paddedPlane * k;
            float At(long i) => padded[i < 0 ? i + padded.Length : i]; // Python's negative indexing

            float i0 = At(index);
            float ix1 = At(index + 1), ix1_ = At(index - 1);
            float iy1 = At(index + pw), iy1_ = At(index - pw);
            float ix1y1 = At(index + pw + 1), ix1_y1_ = At(index - pw - 1);

            float dx = 0.5f * (ix1 - ix1_);
            float dy = 0.5f * (iy1 - iy1_);
            float dxx = ix1 - 2 * i0 + ix1_;
            float dyy = iy1 - 2 * i0 + iy1_;
            float dxy = 0.5f * (ix1y1 - ix1 - iy1 + i0 + i0 - ix1_ - iy1_ + ix1_y1_);

            var (i00, i01, i10, i11) = Inverse(dxx + eps, dxy, dxy, dyy + eps);
            double offsetX = i00 * dx + i01 * dy;
            double offsetY = i10 * dx + i11 * dy;
            xs[k] = (float)(xs[k] - offsetX);
            ys[k] = (float)(ys[k] - offsetY);
        }
    }

    private static (double, double, double, double) Inverse(double a, double b, double c, double d)
    {
        double det = a * d - b * c;
        return (d / det, -b / det, -c / det, a / det);
    }

    // numpy's sign: NaN stays NaN.
    private static float Sign(float v) => float.IsNaN(v) ? v : v > 0 ? 1f : v < 0 ? -1f : 0f;

    private static float MaxPropagatingNaN(float v, float floor) => float.IsNaN(v) ? v : Math.Max(v, floor);

    private static float ClipPropagatingNaN(float v, float lo, float hi) => float.IsNaN(v) ? v : Math.Clamp(v, lo, hi);
}
