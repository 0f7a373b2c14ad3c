namespace Distill.Pose.Codecs;

/// <summary>
/// Draws one keypoint's Gaussian into a (H, W) heatmap plane, keeping the element-wise maximum with what is
/// already there. Coordinates are in heatmap pixels. Arithmetic follows mmpose's float32 numpy code so targets
/// agree with its fixtures to float rounding.
/// </summary>
internal static class GaussianTargets
{
    /// <summary>
    /// MSRA target: a Gaussian of peak 1 centred on the integer pixel int(x + 0.5), drawn inside its 3-sigma
    /// window. Returns false, drawing nothing, when the window lies entirely outside the map.
    /// </summary>
    public static bool DrawIntegerCentred(Span<float> plane, int width, int height, float x, float y, double sigma)
    {
        long muX = (long)(x + 0.5f), muY = (long)(y + 0.5f); // truncation toward zero, as numpy's astype(int64)
        var window = Window(width, height, muX, muY, sigma);
        if (window is null) return false;
        var (left, top, x1, x2, y1, y2) = window.Value;

        // The Gaussian patch is indexed from its corner; its centre is at floor((6 sigma + 1) / 2).
        double radius = sigma * 3;
        float centre = (float)Math.Floor((2 * radius + 1) / 2);
        float denominator = (float)(2 * sigma * sigma);
        for (int hy = y1; hy < y2; hy++)
        {
            float dy = (hy - top) - centre;
            for (int hx = x1; hx < x2; hx++)
            {
                float dx = (hx - left) - centre;
                Put(plane, hy * width + hx, Gaussian(dx * dx + dy * dy, denominator));
            }
        }
        return true;
    }

    /// <summary>
    /// DARK (unbiased) target: a Gaussian centred exactly on (x, y), evaluated over the whole map. Returns false
    /// when the 3-sigma window lies entirely outside the map.
    /// </summary>
    public static bool DrawSubPixel(Span<float> plane, int width, int height, float x, float y, double sigma)
    {
        float radius = (float)(sigma * 3);
        float left = x - radius, top = y - radius;
        float right = x + radius + 1f, bottom = y + radius + 1f;
        if (left >= width || top >= height || right < 0 || bottom < 0) return false;

        float denominator = (float)(2 * sigma * sigma);
        for (int hy = 0; hy < height; hy++)
        {
            float dy = hy - y;
            float dy2 = dy * dy;
            for (int hx = 0; hx < width; hx++)
            {
                float dx = hx - x;
                Put(plane, hy * width + hx, Gaussian(dx * dx + dy2, denominator));
            }
        }
        return true;
    }

    /// <summary>
    /// UDP target: a Gaussian centred exactly on (x, y), drawn inside the 3-sigma window of the integer pixel
    /// int(x + 0.5). Returns false when that window lies entirely outside the map.
    /// </summary>
    public static bool DrawUnbiasedInWindow(Span<float> plane, int width, int height, float x, float y, double sigma)
    {
        long muX = (long)(x + 0.5f), muY = (long)(y + 0.5f);
        var window = Window(width, height, muX, muY, sigma);
        if (window is null) return false;
        var (left, top, x1, x2, y1, y2) = window.Value;

        // Centre inside the patch: half the patch size plus the sub-pixel offset from the integer centre.
        double radius = sigma * 3;
        double half = Math.Floor((2 * radius + 1) / 2);
        float centreX = (float)(half + ((double)x - muX));
        float centreY = (float)(half + ((double)y - muY));
        float denominator = (float)(2 * sigma * sigma);
        for (int hy = y1; hy < y2; hy++)
        {
            float dy = (hy - top) - centreY;
            for (int hx = x1; hx < x2; hx++)
            {
                float dx = (hx - left) - centreX;
                Put(plane, hy * width + hx, Gaussian(dx * dx + dy * dy, denominator));
            }
        }
        return true;
    }

    // exp(-d2 / (2 sigma^2)) in float32, as the numpy expression evaluates it.
    private static float Gaussian(float squaredDistance, float denominator) =>
        NumpyFloat32.Exp(-squaredDistance / denominator);

    private static void Put(Span<float> plane, int index, float value)
    {
        if (value > plane[index]) plane[index] = value;
    }

    // The 3-sigma window [left, right) x [top, bottom) around an integer centre and its part inside the map, or
    // null when nothing of it is inside (mmpose's test, including its inclusive right/bottom comparison).
    private static (long Left, long Top, int X1, int X2, int Y1, int Y2)? Window(int width, int height, long muX, long muY, double sigma)
    {
        double radius = sigma * 3;
        long left = (long)(muX - radius), top = (long)(muY - radius);
        long right = (long)(muX + radius + 1), bottom = (long)(muY + radius + 1);
        if (left >= width || top >= height || right < 0 || bottom < 0) return null;
        int x1 = (int)Math.Max(0, left), x2 = (int)Math.Min(width, right);
        int y1 = (int)Math.Max(0, top), y2 = (int)Math.Min(height, bottom);
        return (left, top, x1, x2, y1, y2);
    }
}
