namespace Distill.Pose.Transforms;

/// <summary>
/// The crop matrix of mmpose's <c>get_warp_matrix</c>: the box (centre, scale, rotation) of the source image is
/// mapped onto an output of the given size. Built the way mmpose builds it, from three point pairs: the centre
/// (moved by shift x scale); the centre plus the vector (0, -scale.w / 2) rotated by the rotation; and a third point
/// that turns the first-to-second vector by 90 degrees about the second. Their images are the output centre, the
/// output centre plus (0, -out.w / 2), and the same third-point rule.
/// </summary>
/// <remarks>
/// Both axes are scaled by out.w / scale.w (the box height does not enter), which is why callers fix the box
/// aspect ratio to the output's first. A positive rotation turns the box clockwise on screen (its "up" points
/// right at 90 degrees), so its contents appear turned counter-clockwise in the crop. mmpose rounds the six
/// construction points to float32; this keeps doubles, a difference below 1e-4 px for ordinary image sizes.
/// </remarks>
public static class WarpMatrix
{
    public static AffineMatrix Get((double X, double Y) center, (double Width, double Height) scale, double rotationDegrees,
        (int Width, int Height) outputSize, (double X, double Y) shift = default, bool inverse = false)
    {
        if (!(scale.Width > 0) || !(scale.Height > 0) || !double.IsFinite(scale.Width) || !double.IsFinite(scale.Height))
            throw new ArgumentOutOfRangeException(nameof(scale), scale, "box scale must be positive and finite");
        if (outputSize.Width <= 0 || outputSize.Height <= 0)
            throw new ArgumentOutOfRangeException(nameof(outputSize), outputSize, "output size must be positive");
        if (!double.IsFinite(center.X) || !double.IsFinite(center.Y) || !double.IsFinite(rotationDegrees))
            throw new ArgumentException($"centre {center} or rotation {rotationDegrees} is not finite");

        double rad = rotationDegrees * Math.PI / 180.0;
        double sn = Math.Sin(rad), cs = Math.Cos(rad);
        double half = scale.Width * -0.5;
        // The source direction is (0, -w/2) turned by the rotation matrix [[cos, -sin], [sin, cos]].
        var srcDir = (X: -sn * half, Y: cs * half);
        var s0 = (X: center.X + scale.Width * shift.X, Y: center.Y + scale.Height * shift.Y);
        var s1 = (X: s0.X + srcDir.X, Y: s0.Y + srcDir.Y);
        var s2 = ThirdPoint(s0, s1);

        double dw = outputSize.Width, dh = outputSize.Height;
        var d0 = (X: dw * 0.5, Y: dh * 0.5);
        var d1 = (X: d0.X, Y: d0.Y + dw * -0.5);
        var d2 = ThirdPoint(d0, d1);

        return inverse ? FromPoints(d0, d1, d2, s0, s1, s2) : FromPoints(s0, s1, s2, d0, d1, d2);
    }

    /// <summary>b plus (a - b) turned by +90 degrees, i.e. b + (-(a - b).y, (a - b).x).</summary>
    private static (double X, double Y) ThirdPoint((double X, double Y) a, (double X, double Y) b)
    {
        double dx = a.X - b.X, dy = a.Y - b.Y;
        return (b.X - dy, b.Y + dx);
    }

    /// <summary>The affine map taking p0, p1, p2 to q0, q1, q2 (what cv2.getAffineTransform solves).</summary>
    public static AffineMatrix FromPoints((double X, double Y) p0, (double X, double Y) p1, (double X, double Y) p2,
        (double X, double Y) q0, (double X, double Y) q1, (double X, double Y) q2)
    {
        // Linear part L solves L [u v] = [du dv] with u, v the edges from p0; the translation then fixes p0 -> q0.
        double ux = p1.X - p0.X, uy = p1.Y - p0.Y, vx = p2.X - p0.X, vy = p2.Y - p0.Y;
        double det = ux * vy - vx * uy;
        if (det == 0 || !double.IsFinite(det)) throw new ArgumentException("the three source points are collinear");
        double dux = q1.X - q0.X, duy = q1.Y - q0.Y, dvx = q2.X - q0.X, dvy = q2.Y - q0.Y;
        // [u v]^-1 = [[vy, -vx], [-uy, ux]] / det
        double a = (dux * vy - dvx * uy) / det, b = (-dux * vx + dvx * ux) / det;
        double c = (duy * vy - dvy * uy) / det, d = (-duy * vx + dvy * ux) / det;
        return new AffineMatrix(a, b, q0.X - (a * p0.X + b * p0.Y), c, d, q0.Y - (c * p0.X + d * p0.Y));
    }
}
