using Distill.Pose.Transforms;
using Distill.Torch.Vision;

namespace Distill.Pose.Tests.Transforms;

/// <summary>
/// A 512 x 384 synthetic image with seven keypoints drawn as small Gaussian dots: the centre one blue, left ones red,
/// right ones green. After any warp, a keypoint's dot can be found again by its colour.
/// </summary>
internal static class DotScene
{
    public const int Width = 512;
    public const int Height = 384;
    public const byte Background = 20;

    /// <summary>Keypoint 0 centre; 1, 3, 5 left; 2, 4, 6 right (a person facing the camera has its left on image right).</summary>
    public static readonly float[] Keypoints = [256.4f, 80.2f, 290.3f, 150.7f, 222.6f, 151.1f, 300.8f, 230.4f, 211.2f, 229.5f, 280.5f, 310.3f, 231.7f, 309.6f];

    public static readonly int[] FlipIndices = [0, 2, 1, 4, 3, 6, 5];

    /// <summary>The colour channel of each keypoint's dot: 2 blue, 0 red, 1 green.</summary>
    public static readonly int[] Channel = [2, 0, 1, 0, 1, 0, 1];

    public static readonly (double, double, double, double) Box = (176, 52, 160, 280);

    public static Image Render(double sigma = 1.6)
    {
        var img = new Image(Height, Width, 3);
        Array.Fill(img.Data, Background);
        int r = (int)Math.Ceiling(4 * sigma);
        for (int i = 0; i < Keypoints.Length / 2; i++)
        {
            double cx = Keypoints[2 * i], cy = Keypoints[2 * i + 1];
            for (int y = (int)cy - r; y <= (int)cy + r + 1; y++)
            {
                for (int x = (int)cx - r; x <= (int)cx + r + 1; x++)
                {
                    double g = Math.Exp(-((x - cx) * (x - cx) + (y - cy) * (y - cy)) / (2 * sigma * sigma));
                    int v = Background + (int)Math.Round((255 - Background) * g);
                    img[y, x, Channel[i]] = (byte)Math.Max(img[y, x, Channel[i]], v);
                }
            }
        }
        return img;
    }

    public static TopdownSample Sample(Image? image = null, float[]? weights = null) => new()
    {
        Id = "dots",
        Image = image ?? Render(),
        Bbox = Box,
        Keypoints = (float[])Keypoints.Clone(),
        Visibility = Enumerable.Repeat(1f, 7).ToArray(),
        KeypointWeights = weights,
    };

    /// <summary>
    /// Centroid of the colour excess (channel minus the brighter other channel) within <paramref name="radius"/> of
    /// (x, y), and the total excess there.
    /// </summary>
    public static (double X, double Y, double Mass) FindDot(Image img, int channel, double x, double y, int radius = 6)
    {
        double sum = 0, sx = 0, sy = 0;
        int x0 = (int)Math.Round(x), y0 = (int)Math.Round(y);
        for (int v = y0 - radius; v <= y0 + radius; v++)
        {
            if (v < 0 || v >= img.Height) continue;
            for (int u = x0 - radius; u <= x0 + radius; u++)
            {
                if (u < 0 || u >= img.Width) continue;
                int c = img[v, u, channel];
                int other = Math.Max(img[v, u, (channel + 1) % 3], img[v, u, (channel + 2) % 3]);
                double w = Math.Max(0, c - other);
                sum += w;
                sx += w * u;
                sy += w * v;
            }
        }
        return sum > 0 ? (sx / sum, sy / sum, sum) : (double.NaN, double.NaN, 0);
    }
}
