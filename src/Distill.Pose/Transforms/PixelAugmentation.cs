using Distill.Torch.Vision;

namespace Distill.Pose.Transforms;

/// <summary>
/// The pixel-level augmentation drawn for one sample, applied after the crop in mmpose's RTMPose order: YOLOX HSV
/// jitter, then Albumentations' Blur, MedianBlur and CoarseDropout. Drawn once and applied to every view of the
/// sample (the student crop and any teacher crops) so that all of them show the same augmented person.
/// </summary>
public sealed record PixelAugmentation
{
    /// <summary>Additive (hue, saturation, value) shifts in OpenCV's 8-bit HSV units; null when HSV jitter is off.</summary>
    public (int Hue, int Saturation, int Value)? HsvGains { get; init; }

    /// <summary>Box blur kernel, or null.</summary>
    public int? BlurKernel { get; init; }

    /// <summary>Median blur kernel, or null.</summary>
    public int? MedianBlurKernel { get; init; }

    /// <summary>Dropout holes in the drawing crop's pixels: columns [X1, X2), rows [Y1, Y2).</summary>
    public IReadOnlyList<(int X1, int Y1, int X2, int Y2)> Holes { get; init; } = [];

    public byte HoleFill { get; init; }

    public static PixelAugmentation None { get; } = new();

    /// <summary>
    /// Draws the parameters for a crop of <paramref name="cropSize"/>. The number of draws of each step does not
    /// depend on the other steps' settings, so turning one step off leaves the others' draws unchanged.
    /// </summary>
    public static PixelAugmentation Draw(TopdownAugmentation options, (int Width, int Height) cropSize, SampleRandom random)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(random);

        // YOLOXHSVRandomAug: uniform(-1, 1) x delta per channel, each channel kept or zeroed by a fair coin, then
        // truncated toward zero to integers.
        bool hsv = random.Chance(options.HsvProb);
        double uh = random.Uniform(-1, 1), us = random.Uniform(-1, 1), uv = random.Uniform(-1, 1);
        int kh = random.NextInt(0, 1), ks = random.NextInt(0, 1), kv = random.NextInt(0, 1);
        (int, int, int)? gains = hsv
            ? ((int)(uh * options.HueDelta * kh), (int)(us * options.SaturationDelta * ks), (int)(uv * options.ValueDelta * kv))
            : null;

        bool blur = random.Chance(options.BlurProb);
        int blurKernel = OddKernel(options.BlurLimit, random);
        bool median = random.Chance(options.MedianBlurProb);
        int medianKernel = OddKernel(options.MedianBlurLimit, random);

        var holes = new List<(int, int, int, int)>();
        if (random.Chance(options.CoarseDropoutProb))
        {
            int count = random.NextInt(options.CoarseDropoutHoles.Min, options.CoarseDropoutHoles.Max);
            var (w, h) = cropSize;
            for (int i = 0; i < count; i++)
            {
                // Albumentations: fractional sizes are int(size x uniform(min, max)), the corner uniform over every
                // position that keeps the hole inside.
                int hh = (int)(h * random.Uniform(options.CoarseDropoutHeight.Min, options.CoarseDropoutHeight.Max));
                int hw = (int)(w * random.Uniform(options.CoarseDropoutWidth.Min, options.CoarseDropoutWidth.Max));
                int y1 = random.NextInt(0, h - hh);
                int x1 = random.NextInt(0, w - hw);
                holes.Add((x1, y1, x1 + hw, y1 + hh));
            }
        }

        return new PixelAugmentation
        {
            HsvGains = gains,
            BlurKernel = blur ? blurKernel : null,
            MedianBlurKernel = median ? medianKernel : null,
            Holes = holes,
            HoleFill = options.CoarseDropoutFill,
        };
    }

    /// <summary>One of the odd sizes in [min, max], uniformly (Albumentations' blur_limit).</summary>
    private static int OddKernel((int Min, int Max) limit, SampleRandom random)
    {
        int lo = limit.Min | 1;
        int count = (limit.Max - lo) / 2 + 1;
        return lo + 2 * random.NextInt(0, Math.Max(count, 1) - 1);
    }

    /// <summary>Applies to the crop the parameters were drawn for.</summary>
    public void Apply(Image crop) => Apply(crop, AffineMatrix.Identity);

    /// <summary>
    /// Applies to another view of the same sample; <paramref name="fromDrawnCrop"/> maps pixels of the crop the holes
    /// were drawn in to this one and must be a scale plus translation (no rotation), as between teacher views.
    /// </summary>
    public void Apply(Image crop, AffineMatrix fromDrawnCrop)
    {
        ArgumentNullException.ThrowIfNull(crop);
        if (HsvGains is { } g) crop.HsvShift_(g.Hue, g.Saturation, g.Value);
        if (BlurKernel is { } b) crop.Blur_(b);
        if (MedianBlurKernel is { } m) crop.MedianBlur_(m);
        foreach (var hole in Holes) FillHole(crop, hole, fromDrawnCrop);
    }

    private void FillHole(Image crop, (int X1, int Y1, int X2, int Y2) hole, AffineMatrix map)
    {
        if (Math.Abs(map.M01) > 1e-9 || Math.Abs(map.M10) > 1e-9)
            throw new ArgumentException($"dropout holes can only move by a scale and translation, got {map}", nameof(map));
        if (hole.X2 <= hole.X1 || hole.Y2 <= hole.Y1) return;
        // The hole covers the pixel squares [X1 - 0.5, X2 - 0.5) x [Y1 - 0.5, Y2 - 0.5); fill the target pixels whose
        // centres fall inside its image. Identity reproduces the drawn rectangle exactly.
        var (ax, ay) = map.Apply(hole.X1 - 0.5, hole.Y1 - 0.5);
        var (bx, by) = map.Apply(hole.X2 - 0.5, hole.Y2 - 0.5);
        int x1 = Math.Max(0, (int)Math.Ceiling(Math.Min(ax, bx) - 1e-9));
        int x2 = Math.Min(crop.Width, (int)Math.Ceiling(Math.Max(ax, bx) - 1e-9));
        int y1 = Math.Max(0, (int)Math.Ceiling(Math.Min(ay, by) - 1e-9));
        int y2 = Math.Min(crop.Height, (int)Math.Ceiling(Math.Max(ay, by) - 1e-9));
        if (x2 <= x1 || y2 <= y1) return;
        int c = crop.Channels;
        for (int y = y1; y < y2; y++)
            crop.Data.AsSpan((y * crop.Width + x1) * c, (x2 - x1) * c).Fill(HoleFill);
    }
}
