namespace Distill.Pose.BottomUp.Encoders;

/// <summary>
/// Composite intensity field targets, (K, 5, H, W) = [conf, dx, dy, bmin, scale] per joint, in field units.
/// Each labelled joint claims a 4x4 patch of cells whose top-left is round(p - 1.5) (p the joint in field units,
/// half to even): each cell of the patch points at the joint (dx, dy = joint - cell) when the joint is nearer than
/// what the cell holds, and then gets conf 1, bmin = bmin pixels / stride and the joint scale (instance scale times
/// the joint's sigma). Elsewhere conf is 0 and the rest NaN ("no target"). Masked cells (crowds, unlabelled persons,
/// grown by 1.5 cells) have conf NaN and accept only joints within one cell. Outside the valid area conf is 0 and
/// the rest NaN. Uses no libtorch and no shared state, so it can run in loader threads.
/// </summary>
public sealed class CifEncoder
{
    public const int Side = 4;
    public const int Components = 5;
    private const double MaskMargin = (Side - 1) / 2.0;

    public CifEncoder(CifCafMeta meta, int stride, double bmin = 0.1)
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

    /// <summary>Smallest vector spread, in input pixels.</summary>
    public double Bmin { get; }

    /// <param name="annotations">Persons and crowds of the (transformed) input image, in its pixels.</param>
    /// <param name="imageWidth">Input width in pixels.</param>
    /// <param name="imageHeight">Input height in pixels.</param>
    /// <param name="validArea">The part of the input that shows image (x, y, w, h pixels); null for all of it.</param>
    public FieldTensor Encode(IReadOnlyList<FieldAnnotation> annotations, int imageWidth, int imageHeight,
        (double X, double Y, double W, double H)? validArea = null)
    {
        ArgumentNullException.ThrowIfNull(annotations);
        var (h, w) = AnnotationRescaler.FieldSize(imageWidth, imageHeight, Stride);
        int k = Meta.NumKeypoints, n = h * w;
        var (target, nearest) = AnnotationRescaler.NewTarget(annotations, k, Components, h, w, Stride, MaskMargin);
        var d = target.Data;

        float bmin = (float)(Bmin / Stride);
        foreach (var kps in AnnotationRescaler.KeypointSets(annotations, k, Stride))
        {
            double scale = AnnotationRescaler.InstanceScale(kps, Meta.UprightPose);
            for (int f = 0; f < k; f++)
            {
                if (!(kps[3 * f + 2] > 0)) continue;
                double px = kps[3 * f], py = kps[3 * f + 1];
                float jointScale = (float)(scale * Meta.Sigmas[f]);
                // Patches that lie entirely outside the field (e.g. a joint far beyond the border) touch no cell.
                int x0 = (int)Math.Round(px - 1.5, MidpointRounding.ToEven), y0 = (int)Math.Round(py - 1.5, MidpointRounding.ToEven);
                int pConf = target.Plane(f, 0), pDx = target.Plane(f, 1), pDy = target.Plane(f, 2);
                int pB = target.Plane(f, 3), pS = target.Plane(f, 4);
                for (int cy = Math.Max(y0, 0); cy < Math.Min(y0 + Side, h); cy++)
                    for (int cx = Math.Max(x0, 0); cx < Math.Min(x0 + Side, w); cx++)
                    {
                        double dx = px - cx, dy = py - cy;
                        float l = (float)Math.Sqrt(dx * dx + dy * dy);
                        int c = cy * w + cx;
                        if (!(l < nearest[f * n + c])) continue;
                        nearest[f * n + c] = l;
                        d[pConf + c] = 1f;
                        d[pDx + c] = (float)dx;
                        d[pDy + c] = (float)dy;
                        d[pB + c] = bmin;
                        d[pS + c] = jointScale;
                    }
            }
        }

        AnnotationRescaler.ClearOutside(target, validArea, Stride);
        return target;
    }
}
