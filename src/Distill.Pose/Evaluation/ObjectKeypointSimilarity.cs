namespace Distill.Pose.Evaluation;

/// <summary>
/// Object keypoint similarity (OKS), the COCO keypoint counterpart of box IoU:
/// OKS = sum_i exp(-d_i^2 / (2 s^2 k_i^2)) over labelled keypoints / their count, with k_i = 2 sigma_i and s^2 the area.
/// </summary>
public static class ObjectKeypointSimilarity
{
    /// <summary>numpy's spacing(1): keeps a zero area from dividing by zero, exactly as COCOeval does.</summary>
    internal const double Epsilon = 2.220446049250313e-16;

    /// <summary>
    /// OKS between a ground-truth person and a detection, as COCOeval scores them. Only keypoints with v &gt; 0
    /// count. When the person has no labelled keypoint, each detected keypoint is instead measured by its distance
    /// outside the ground-truth box enlarged to three times its size (one box width/height on each side), over all K.
    /// </summary>
    /// <param name="groundTruth">K x (x, y, v).</param>
    /// <param name="area">Ground-truth area (s^2).</param>
    /// <param name="bbox">Ground-truth (x, y, w, h).</param>
    /// <param name="detection">K x (x, y, score); the score is not used.</param>
    /// <param name="sigmas">Per-keypoint sigma (K values).</param>
    public static double Compute(ReadOnlySpan<double> groundTruth, double area, ReadOnlySpan<double> bbox,
        ReadOnlySpan<double> detection, ReadOnlySpan<double> sigmas)
    {
        int k = sigmas.Length;
        CheckLength(groundTruth, k, "ground-truth keypoints");
        CheckLength(detection, k, "detection keypoints");
        if (bbox.Length < 4) throw new ArgumentException($"bbox must have 4 values (x, y, w, h), got {bbox.Length}");

        int labelled = 0;
        for (int i = 0; i < k; i++)
            if (groundTruth[3 * i + 2] > 0) labelled++;

        double scale = area + Epsilon;
        double sum = 0;
        if (labelled > 0)
        {
            for (int i = 0; i < k; i++)
            {
                if (!(groundTruth[3 * i + 2] > 0)) continue;
                double dx = detection[3 * i] - groundTruth[3 * i];
                double dy = detection[3 * i + 1] - groundTruth[3 * i + 1];
                sum += Math.Exp(-Exponent(dx, dy, sigmas[i], scale));
            }
            return sum / labelled;
        }

        // No labelled keypoint: distance to the region [x - w, x + 2w] x [y - h, y + 2h], zero inside it.
        double x0 = bbox[0] - bbox[2], x1 = bbox[0] + bbox[2] * 2;
        double y0 = bbox[1] - bbox[3], y1 = bbox[1] + bbox[3] * 2;
        for (int i = 0; i < k; i++)
        {
            double xd = detection[3 * i], yd = detection[3 * i + 1];
            double dx = Math.Max(0, x0 - xd) + Math.Max(0, xd - x1);
            double dy = Math.Max(0, y0 - yd) + Math.Max(0, yd - y1);
            sum += Math.Exp(-Exponent(dx, dy, sigmas[i], scale));
        }
        return sum / k;
    }

    /// <summary>
    /// OKS between two predicted people as mmpose's OKS-NMS measures it: every keypoint counts and the scale is the
    /// mean of the two areas.
    /// </summary>
    /// <param name="a">K x (x, y, score).</param>
    /// <param name="areaA">Area of <paramref name="a"/>.</param>
    /// <param name="b">K x (x, y, score).</param>
    /// <param name="areaB">Area of <paramref name="b"/>.</param>
    /// <param name="sigmas">Per-keypoint sigma (K values).</param>
    public static double BetweenPredictions(ReadOnlySpan<double> a, double areaA, ReadOnlySpan<double> b, double areaB,
        ReadOnlySpan<double> sigmas)
    {
        int k = sigmas.Length;
        CheckLength(a, k, "first keypoints");
        CheckLength(b, k, "second keypoints");
        if (k == 0) return 0;
        double scale = (areaA + areaB) / 2 + Epsilon;
        double sum = 0;
        for (int i = 0; i < k; i++)
        {
            double dx = b[3 * i] - a[3 * i];
            double dy = b[3 * i + 1] - a[3 * i + 1];
            sum += Math.Exp(-Exponent(dx, dy, sigmas[i], scale));
        }
        return sum / k;
    }

    // Same operation order as the reference (d^2 / k^2 / s^2 / 2) so results agree to the last bits.
    private static double Exponent(double dx, double dy, double sigma, double scale)
    {
        double variance = (sigma * 2) * (sigma * 2);
        return (dx * dx + dy * dy) / variance / scale / 2;
    }

    private static void CheckLength(ReadOnlySpan<double> keypoints, int k, string what)
    {
        if (keypoints.Length != 3 * k)
            throw new ArgumentException($"{what} must hold {k} x (x, y, v) = {3 * k} values for {k} sigmas, got {keypoints.Length}");
    }
}
