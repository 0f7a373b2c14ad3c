using Distill.Torch.Vision;

namespace Distill.Pose.Transforms;

/// <summary>
/// Per-channel (pixel - mean) / std of an 8-bit RGB image into float32 CHW, as mmpose's data preprocessor does
/// before the network (RTMPose: RGB, ImageNet mean and std in 0..255 units).
/// </summary>
public sealed class ImageNormalization
{
    public static readonly double[] ImageNetMean = [123.675, 116.28, 103.53];
    public static readonly double[] ImageNetStd = [58.395, 57.12, 57.375];

    // One 256-entry table per channel: normalising is then a lookup per byte.
    private readonly float[][] _tables;

    public ImageNormalization(IReadOnlyList<double>? mean = null, IReadOnlyList<double>? std = null)
    {
        mean ??= ImageNetMean;
        std ??= ImageNetStd;
        if (mean.Count != 3 || std.Count != 3) throw new ArgumentException($"mean and std need 3 (RGB) values, got {mean.Count} and {std.Count}");
        for (int c = 0; c < 3; c++)
            if (!(std[c] > 0) || !double.IsFinite(mean[c])) throw new ArgumentException($"channel {c}: mean {mean[c]} must be finite and std {std[c]} positive");
        Mean = [.. mean];
        Std = [.. std];
        _tables = new float[3][];
        for (int c = 0; c < 3; c++)
        {
            _tables[c] = new float[256];
            for (int v = 0; v < 256; v++) _tables[c][v] = (float)((v - Mean[c]) / Std[c]);
        }
    }

    public double[] Mean { get; }

    public double[] Std { get; }

    /// <summary>Writes C x H x W floats into <paramref name="destination"/>.</summary>
    public void ToChw(Image image, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.Channels != 3) throw new ArgumentException($"normalisation needs an RGB image, got {image.Channels} channels");
        int plane = image.Height * image.Width;
        if (destination.Length < 3 * plane) throw new ArgumentException($"destination holds {destination.Length} floats, need {3 * plane}");
        var src = image.Data;
        var r = destination[..plane];
        var g = destination.Slice(plane, plane);
        var b = destination.Slice(2 * plane, plane);
        float[] tr = _tables[0], tg = _tables[1], tb = _tables[2];
        for (int i = 0, j = 0; i < plane; i++, j += 3)
        {
            r[i] = tr[src[j]];
            g[i] = tg[src[j + 1]];
            b[i] = tb[src[j + 2]];
        }
    }

    public float[] ToChw(Image image)
    {
        ArgumentNullException.ThrowIfNull(image);
        var result = new float[3 * image.Height * image.Width];
        ToChw(image, result);
        return result;
    }
}
