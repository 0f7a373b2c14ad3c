namespace Distill.Pose.Transforms;

/// <summary>
/// Box to (centre, scale) conversion as mmpose's <c>GetBBoxCenterScale</c> and <c>TopdownAffine</c> do it. The
/// scale is the box size in image pixels (w, h), not mmpose 0.x's units of 200 px.
/// </summary>
public static class BBoxCenterScale
{
    /// <summary>mmpose's default box padding for top-down training and testing.</summary>
    public const double DefaultPadding = 1.25;

    /// <summary>Centre of an (x, y, w, h) box and its size times <paramref name="padding"/>.</summary>
    public static ((double X, double Y) Center, (double Width, double Height) Scale) FromXywh(
        double x, double y, double w, double h, double padding = DefaultPadding)
    {
        if (!double.IsFinite(x) || !double.IsFinite(y) || !double.IsFinite(w) || !double.IsFinite(h))
            throw new ArgumentException($"box ({x}, {y}, {w}, {h}) has a non-finite coordinate");
        if (!(padding > 0)) throw new ArgumentOutOfRangeException(nameof(padding), padding, "padding must be positive");
        return ((x + w * 0.5, y + h * 0.5), (w * padding, h * padding));
    }

    /// <summary>
    /// Expands the short side so that width / height equals <paramref name="aspectRatio"/> (mmpose's
    /// <c>_fix_aspect_ratio</c>): a box wider than the ratio keeps its width, any other keeps its height.
    /// </summary>
    public static (double Width, double Height) FixAspectRatio((double Width, double Height) scale, double aspectRatio)
    {
        if (!(aspectRatio > 0)) throw new ArgumentOutOfRangeException(nameof(aspectRatio), aspectRatio, "aspect ratio must be positive");
        var (w, h) = scale;
        return w > h * aspectRatio ? (w, w / aspectRatio) : (h * aspectRatio, h);
    }
}
