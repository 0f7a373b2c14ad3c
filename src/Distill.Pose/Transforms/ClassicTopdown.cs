using Distill.Pose.Codecs;
using Distill.Pose.Models;
using Distill.Torch;
using Distill.Torch.Vision;

namespace Distill.Pose.Transforms;

/// <summary>
/// The top-down inference of mmpose 0.x, which the original ViTPose release and its demo run. A box (x, y, w, h)
/// gives center = (x + w / 2, y + h / 2); (w, h) is widened to the model's aspect ratio and the scale is
/// (w, h) / 200 x 1.25, in units of 200 pixels. The crop is the affine warp of that box onto the input, normalised
/// with the model's mean and std (ImageNet's). Heatmaps decode by argmax plus a quarter pixel toward the higher
/// neighbour, and go back to the image through the same center and scale: x = hx x scale.w x 200 / heatmap width +
/// center.x - scale.w x 200 / 2 (likewise y).
/// </summary>
/// <remarks>
/// Only the decode differs from mmpose 1.x's non-UDP path: the box geometry and the warp are the same numbers in other
/// units. The quarter-pixel shift moves a keypoint only when its maximum is at least two pixels from every border
/// (1 &lt; x &lt; W - 1 and 1 &lt; y &lt; H - 1, on both axes at once), as mmpose 0.x does; a map with no positive value
/// gives (-1, -1).
/// </remarks>
public sealed class ClassicTopdown
{
    /// <summary>The pixel unit of the classic scale.</summary>
    public const double PixelStd = 200.0;

    private readonly ImageNormalization _normalization;

    public ClassicTopdown((int Width, int Height) inputSize, IReadOnlyList<double>? mean = null, IReadOnlyList<double>? std = null,
        double padding = BBoxCenterScale.DefaultPadding)
    {
        if (inputSize.Width <= 0 || inputSize.Height <= 0)
            throw new ArgumentOutOfRangeException(nameof(inputSize), inputSize, "input size must be positive");
        if (!(padding > 0)) throw new ArgumentOutOfRangeException(nameof(padding), padding, "padding must be positive");
        InputSize = inputSize;
        Padding = padding;
        _normalization = new ImageNormalization(mean, std);
    }

    public (int Width, int Height) InputSize { get; }

    public double Padding { get; }

    /// <summary>Center (image pixels) and scale (units of 200 pixels, padding included) of an (x, y, w, h) box.</summary>
    public static ((double X, double Y) Center, (double Width, double Height) Scale) BoxToCenterScale(
        double x, double y, double w, double h, (int Width, int Height) inputSize, double padding = BBoxCenterScale.DefaultPadding)
    {
        if (!double.IsFinite(x) || !double.IsFinite(y) || !(w > 0) || !(h > 0) || double.IsInfinity(w) || double.IsInfinity(h))
            throw new ArgumentException($"box ({x}, {y}, {w}, {h}): width and height must be positive and finite");
        double aspect = (double)inputSize.Width / inputSize.Height;
        var center = (x + w * 0.5, y + h * 0.5);
        if (w > aspect * h) h = w / aspect;
        else if (w < aspect * h) w = h * aspect;
        return (center, (w / PixelStd * padding, h / PixelStd * padding));
    }

    /// <summary>The crop matrix (image to input pixels) of a center and a classic scale, without rotation.</summary>
    public static AffineMatrix CropMatrix((double X, double Y) center, (double Width, double Height) scale, (int Width, int Height) inputSize) =>
        WarpMatrix.Get(center, (scale.Width * PixelStd, scale.Height * PixelStd), 0, inputSize);

    /// <summary>One box cut from an image: its center and scale and the normalised crop (3 x H x W).</summary>
    public sealed record Crop((double X, double Y) Center, (double Width, double Height) Scale, float[] Input);

    /// <summary>Cuts and normalises the crop of box (x, y, w, h).</summary>
    public Crop Cut(Image image, double x, double y, double w, double h)
    {
        ArgumentNullException.ThrowIfNull(image);
        var (center, scale) = BoxToCenterScale(x, y, w, h, InputSize, Padding);
        var m = CropMatrix(center, scale, InputSize);
        var crop = image.WarpAffine(m.ToArray(), InputSize.Width, InputSize.Height, bilinear: true);
        return new Crop(center, scale, _normalization.ToChw(crop));
    }

    /// <summary>
    /// Argmax and quarter-pixel shift of heatmaps (N, K, H, W), in heatmap pixels; scores are the maxima.
    /// </summary>
    public static DecodedKeypoints DecodeHeatmaps(ShapedArray heatmaps)
    {
        ArgumentNullException.ThrowIfNull(heatmaps);
        if (heatmaps.Rank != 4) throw new ArgumentException($"classic decode: expected heatmaps (N, K, H, W), got shape [{string.Join(", ", heatmaps.Shape)}]");
        int n = heatmaps.Size(0), k = heatmaps.Size(1), h = heatmaps.Size(2), w = heatmaps.Size(3);
        var keypoints = new float[n, k, 2];
        var scores = new float[n, k];
        for (int b = 0; b < n; b++)
        {
            for (int j = 0; j < k; j++)
            {
                var map = heatmaps.Data.AsSpan((b * k + j) * h * w, h * w);
                int best = 0;
                for (int i = 1; i < map.Length; i++)
                    if (map[i] > map[best]) best = i; // the first maximum, as numpy's argmax
                float max = map[best];
                scores[b, j] = max;
                if (!(max > 0))
                {
                    keypoints[b, j, 0] = keypoints[b, j, 1] = -1;
                    continue;
                }
                int px = best % w, py = best / w;
                float x = px, y = py;
                if (px > 1 && px < w - 1 && py > 1 && py < h - 1)
                {
                    x += 0.25f * Math.Sign(map[py * w + px + 1] - map[py * w + px - 1]);
                    y += 0.25f * Math.Sign(map[(py + 1) * w + px] - map[(py - 1) * w + px]);
                }
                keypoints[b, j, 0] = x;
                keypoints[b, j, 1] = y;
            }
        }
        return new DecodedKeypoints(keypoints, scores);
    }

    /// <summary>
    /// The network's heatmaps for a batch of crops (with the model's flip test when <paramref name="flipTest"/> or its
    /// own setting asks), decoded as <see cref="DecodeHeatmaps"/> does: keypoints in heatmap pixels.
    /// </summary>
    public static DecodedKeypoints Predict(TopdownPoseEstimator model, Tensor input, bool? flipTest = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.Codec is not HeatmapCodec)
            throw new ArgumentException($"the classic path decodes heatmaps; this model's codec is {model.Codec.TypeName}");
        var outputs = model.InferenceOutputs(input, flipTest);
        try
        {
            return DecodeHeatmaps(ShapedArray.FromTensor(outputs["heatmaps"]));
        }
        finally
        {
            foreach (var t in outputs.Values) t.Dispose();
        }
    }

    /// <summary>A heatmap point back to the image through the crop's center and classic scale.</summary>
    public static (double X, double Y) ToImage(double hx, double hy, (double X, double Y) center, (double Width, double Height) scale,
        (int Width, int Height) heatmapSize)
    {
        double sw = scale.Width * PixelStd, sh = scale.Height * PixelStd;
        return (hx * sw / heatmapSize.Width + center.X - sw * 0.5, hy * sh / heatmapSize.Height + center.Y - sh * 0.5);
    }
}
