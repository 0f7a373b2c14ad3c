namespace Distill.Pose.BottomUp.Encoders;

/// <summary>
/// Composite association field targets, (L, 9, H, W) = [conf, j1 - cell (2), j2 - cell (2), b1, b2, s1, s2] per limb,
/// in field units. A limb gives targets when both its joints are labelled and at least one lies inside the field.
/// Points at fractions linspace(m, 1 - m, max(2, ceil(len))) of the limb, m = clip(1.5 / len, 0.25, 0.4), each claim
/// the 3x3 cells around their nearest cell; a cell is visited once per limb and takes the limb when its perpendicular
/// distance to the limb's line is at most what it holds. Masked cells (grown by 1 cell) start at distance 1 with
/// conf NaN; elsewhere conf is 0 and the rest NaN. Uses no libtorch and no shared state.
/// </summary>
public sealed class CafEncoder
{
    public const int Components = 9;
    private const double MaskMargin = 1.0;

    public CafEncoder(CifCafMeta meta, int stride, double bmin = 0.1)
    {
        ArgumentNullException.ThrowIfNull(meta);
        if (stride < 1) throw new ArgumentOutOfRangeException(nameof(stride), stride, "must be at least 1");
        if (!(bmin > 0)) throw new ArgumentOutOfRangeException(nameof(bmin), bmin, "must be positive");
        Meta = meta;
        Stride = stride;
        Bmin = bmin;
    }

    public CifCafMeta Meta { get; }
    public int Stride { get; }
    public double Bmin { get; }

    /// <summary>The fractions along a limb of length <paramref name="length"/> (field units) that place targets.</summary>
    public static double[] Fractions(double length)
    {
        double m = Math.Clamp(1.5 / length, 0.25, 0.4);
        int num = Math.Max(2, (int)Math.Ceiling(length));
        // numpy's linspace: start + i * step, with the last value exactly the stop.
        var f = new double[num];
        double step = (1 - 2 * m) / (num - 1);
        for (int i = 0; i < num; i++) f[i] = m + i * step;
        f[num - 1] = 1 - m;
        return f;
    }

    /// <inheritdoc cref="CifEncoder.Encode"/>
    public FieldTensor Encode(IReadOnlyList<FieldAnnotation> annotations, int imageWidth, int imageHeight,
        (double X, double Y, double W, double H)? validArea = null)
    {
        ArgumentNullException.ThrowIfNull(annotations);
        var (h, w) = AnnotationRescaler.FieldSize(imageWidth, imageHeight, Stride);
        int limbs = Meta.NumLimbs, n = h * w;
        var (target, nearest) = AnnotationRescaler.NewTarget(annotations, limbs, Components, h, w, Stride, MaskMargin);
        var d = target.Data;

        float bmin = (float)(Bmin / Stride);
        var visited = new HashSet<int>();
        foreach (var kps in AnnotationRescaler.KeypointSets(annotations, Meta.NumKeypoints, Stride))
        {
            double scale = AnnotationRescaler.InstanceScale(kps, Meta.UprightPose);
            for (int p = 0; p < limbs; p++)
            {
                var (a, b) = Meta.Skeleton[p];
                if (!(kps[3 * a + 2] > 0) || !(kps[3 * b + 2] > 0)) continue;
                double ax = kps[3 * a], ay = kps[3 * a + 1], bx = kps[3 * b], by = kps[3 * b + 1];
                if (Outside(ax, ay, w, h) && Outside(bx, by, w, h)) continue;
                float s1 = (float)(scale * Meta.Sigmas[a]), s2 = (float)(scale * Meta.Sigmas[b]);
                double ox = bx - ax, oy = by - ay, len = Math.Sqrt(ox * ox + oy * oy);
                int pConf = target.Plane(p, 0);
                visited.Clear();
                foreach (double f in Fractions(len))
                {
                    int cx0 = (int)Math.Round(ax + f * ox, MidpointRounding.ToEven), cy0 = (int)Math.Round(ay + f * oy, MidpointRounding.ToEven);
                    for (int cy = Math.Max(cy0 - 1, 0); cy <= Math.Min(cy0 + 1, h - 1); cy++)
                        for (int cx = Math.Max(cx0 - 1, 0); cx <= Math.Min(cx0 + 1, w - 1); cx++)
                        {
                            int c = cy * w + cx;
                            if (!visited.Add(c)) continue;
                            double rx = cx - ax, ry = cy - ay;
                            // Perpendicular distance to the limb's line; a zero-length limb measures to its joint.
                            float dist = (float)(len > 0 ? Math.Abs(ox * ry - oy * rx) / len : Math.Sqrt(rx * rx + ry * ry));
                            if (!(dist <= nearest[p * n + c])) continue;
                            nearest[p * n + c] = dist;
                            d[pConf + c] = 1f;
                            d[pConf + 1 * n + c] = (float)(ax - cx);
                            d[pConf + 2 * n + c] = (float)(ay - cy);
                            d[pConf + 3 * n + c] = (float)(bx - cx);
                            d[pConf + 4 * n + c] = (float)(by - cy);
                            d[pConf + 5 * n + c] = bmin;
                            d[pConf + 6 * n + c] = bmin;
                            d[pConf + 7 * n + c] = s1;
                            d[pConf + 8 * n + c] = s2;
                        }
                }
            }
        }

        AnnotationRescaler.ClearOutside(target, validArea, Stride);
        return target;
    }

    private static bool Outside(double x, double y, int w, int h) => x < 0 || y < 0 || x > w - 1 || y > h - 1;
}
