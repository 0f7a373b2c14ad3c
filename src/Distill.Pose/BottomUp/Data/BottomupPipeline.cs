using Distill.Pose.BottomUp.Encoders;
using Distill.Pose.Transforms;
using Distill.Torch.Vision;

namespace Distill.Pose.BottomUp.Data;

/// <summary>One whole image made ready for a bottom-up network: the normalised input and its field targets.</summary>
public sealed class BottomupResult
{
    public required long ImageId { get; init; }

    /// <summary>3 x edge x edge normalised floats (CHW).</summary>
    public required float[] Input { get; init; }

    public required int Edge { get; init; }

    /// <summary>CIF target (K, 5, H, W) and CAF target (L, 9, H, W) at the model's stride.</summary>
    public required FieldTensor Cif { get; init; }
    public required FieldTensor Caf { get; init; }

    /// <summary>Image pixels to input pixels (its inverse maps decoded poses back to the image).</summary>
    public required AffineMatrix ImageToInput { get; init; }

    /// <summary>The annotations as the encoders read them (input pixels).</summary>
    public required IReadOnlyList<FieldAnnotation> Annotations { get; init; }
}

/// <summary>
/// Whole-image augmentation and field encoding for bottom-up training (see <see cref="BottomupAugmentation"/>): one
/// affine warp of the image (flip, rescale and stretch, rotation, crop or centre padding to the square edge), the same
/// map applied to the annotations (with the flip's keypoint permutation), colour jitter, ImageNet-style normalisation,
/// then CIF and CAF targets with the area outside the warped image marked as such. Thread-safe: every random draw comes
/// from the <see cref="SampleRandom"/> passed in, so a sample depends only on (seed, epoch, index).
/// </summary>
public sealed class BottomupPipeline
{
    /// <summary>Grey close to the ImageNet mean, so padding normalises to about zero (OpenPifPaf pads with the mean).</summary>
    public const byte PadValue = 116;

    private readonly ImageNormalization _normalization;
    private readonly CifEncoder _cif;
    private readonly CafEncoder _caf;

    public BottomupPipeline(CifCafMeta meta, int stride, IReadOnlyList<double>? mean = null, IReadOnlyList<double>? std = null)
    {
        Meta = meta;
        Stride = stride;
        _normalization = new ImageNormalization(mean, std);
        _cif = new CifEncoder(meta, stride);
        _caf = new CafEncoder(meta, stride);
    }

    public CifCafMeta Meta { get; }
    public int Stride { get; }

    public BottomupResult Process(BottomupSample sample, Image image, BottomupAugmentation augmentation, ulong seed, long epoch, long index) =>
        Process(sample, image, augmentation, new SampleRandom(seed, epoch, index));

    public BottomupResult Process(BottomupSample sample, Image image, BottomupAugmentation augmentation, SampleRandom random)
    {
        int w = image.Width, h = image.Height, edge = augmentation.SquareEdge;
        IReadOnlyList<FieldAnnotation> annotations = sample.Annotations;
        var matrix = augmentation.Enabled ? DrawGeometry(augmentation, w, h, random, ref annotations) : EvalGeometry(w, h, edge);

        var warped = image.WarpAffine(matrix.ToArray(), edge, edge, bilinear: true, border: PadValue);
        if (augmentation.Enabled) Photometric(warped, augmentation, random);
        var input = _normalization.ToChw(warped);

        var moved = annotations.Select(a => Transform(a, matrix)).ToList();
        var valid = ValidArea(matrix, w, h, edge);
        return new BottomupResult
        {
            ImageId = sample.ImageId,
            Input = input,
            Edge = edge,
            Cif = _cif.Encode(moved, edge, edge, valid),
            Caf = _caf.Encode(moved, edge, edge, valid),
            ImageToInput = matrix,
            Annotations = moved,
        };
    }

    /// <summary>Evaluation: the long side scaled to the edge, the image at the top-left, padding right and below.</summary>
    public static AffineMatrix EvalGeometry(int width, int height, int edge)
    {
        double s = (double)edge / Math.Max(width, height);
        return AffineMatrix.Scaling(s, s);
    }

    private AffineMatrix DrawGeometry(BottomupAugmentation a, int w, int h, SampleRandom random, ref IReadOnlyList<FieldAnnotation> annotations)
    {
        var m = AffineMatrix.Identity;
        if (random.Chance(a.HFlipProb))
        {
            m = AffineMatrix.MirrorX(w);
            // The map mirrors the coordinates; here joints only trade names (a left wrist mirrored is a right wrist).
            annotations = annotations.Select(x => Rename(x, Meta.KeypointFlip)).ToList();
        }
        // Power law: the factor's logarithm is uniform, so halving and doubling are equally likely.
        double f = Math.Pow(2, random.Uniform(Math.Log2(a.ScaleRange.Low), Math.Log2(a.ScaleRange.High)));
        double sx = f, sy = f;
        double stretch = random.Uniform(a.StretchRange.Low, a.StretchRange.High);
        if (random.Chance(0.5)) sx *= stretch;
        else sy *= stretch;
        m = m.Then(AffineMatrix.Scaling(sx, sy));

        double angle = 0;
        if (random.Chance(a.OrientationInvariant)) angle = 90 * random.NextInt(0, 3);
        else if (random.Chance(a.RotateProb)) angle = random.Uniform(-a.MaxRotation, a.MaxRotation);
        if (angle != 0)
        {
            double rad = angle * Math.PI / 180, c = Math.Cos(rad), s = Math.Sin(rad);
            m = m.Then(new AffineMatrix(c, -s, 0, s, c, 0));
        }
        // The transformed image's bounding box starts at the origin; the crop then lies inside it where it is larger
        // than the edge and centres it (padding both sides) where it is smaller.
        var (x0, y0, x1, y1) = Bounds(m, w, h);
        int edge = a.SquareEdge;
        double ox = x1 - x0 > edge ? x0 + random.Uniform(0, x1 - x0 - edge) : x0 - (edge - (x1 - x0)) / 2;
        double oy = y1 - y0 > edge ? y0 + random.Uniform(0, y1 - y0 - edge) : y0 - (edge - (y1 - y0)) / 2;
        return m.Then(AffineMatrix.Translation(-ox, -oy));
    }

    private static FieldAnnotation Rename(FieldAnnotation a, IReadOnlyList<int> flip)
    {
        var k = new float[a.Keypoints.Length];
        for (int j = 0; j < a.KeypointCount; j++)
            Array.Copy(a.Keypoints, 3 * j, k, 3 * flip[j], 3);
        return a with { Keypoints = k };
    }

    private static (double X0, double Y0, double X1, double Y1) Bounds(AffineMatrix m, double w, double h)
    {
        double x0 = double.PositiveInfinity, y0 = double.PositiveInfinity, x1 = double.NegativeInfinity, y1 = double.NegativeInfinity;
        foreach (var (x, y) in new[] { (0.0, 0.0), (w, 0.0), (0.0, h), (w, h) })
        {
            var (u, v) = m.Apply(x, y);
            x0 = Math.Min(x0, u);
            y0 = Math.Min(y0, v);
            x1 = Math.Max(x1, u);
            y1 = Math.Max(y1, v);
        }
        return (x0, y0, x1, y1);
    }

    /// <summary>The warped image's bounding box inside the input (x, y, w, h); cells outside it get no targets.</summary>
    public static (double X, double Y, double W, double H) ValidArea(AffineMatrix m, int width, int height, int edge)
    {
        var (x0, y0, x1, y1) = Bounds(m, width, height);
        x0 = Math.Clamp(x0, 0, edge);
        y0 = Math.Clamp(y0, 0, edge);
        x1 = Math.Clamp(x1, 0, edge);
        y1 = Math.Clamp(y1, 0, edge);
        return (x0, y0, x1 - x0, y1 - y0);
    }

    /// <summary>An annotation through the image-to-input map: labelled keypoints moved, the box replaced by the moved box's bounds.</summary>
    public static FieldAnnotation Transform(FieldAnnotation a, AffineMatrix m)
    {
        var k = (float[])a.Keypoints.Clone();
        for (int j = 0; j + 2 < k.Length; j += 3)
        {
            if (!(k[j + 2] > 0)) continue;
            var (x, y) = m.Apply(k[j], k[j + 1]);
            k[j] = (float)x;
            k[j + 1] = (float)y;
        }
        var b = a.Bbox;
        double x0 = double.PositiveInfinity, y0 = double.PositiveInfinity, x1 = double.NegativeInfinity, y1 = double.NegativeInfinity;
        foreach (var (cx, cy) in new[] { (b.X, b.Y), (b.X + b.W, b.Y), (b.X, b.Y + b.H), (b.X + b.W, b.Y + b.H) })
        {
            var (u, v) = m.Apply(cx, cy);
            x0 = Math.Min(x0, u);
            y0 = Math.Min(y0, v);
            x1 = Math.Max(x1, u);
            y1 = Math.Max(y1, v);
        }
        return new FieldAnnotation(k, (x0, y0, x1 - x0, y1 - y0), a.IsCrowd);
    }

    /// <summary>
    /// torchvision's ColorJitter factors (brightness and saturation in [1 - b, 1 + b], contrast against the mean grey,
    /// hue as a rotation of the chroma plane in YIQ by up to +-hue turns), applied in that order, then greyscale with
    /// its probability. In place on the 8-bit RGB image.
    /// </summary>
    public static void Photometric(Image image, BottomupAugmentation a, SampleRandom random)
    {
        var (bj, cj, sj, hj) = a.ColorJitter;
        double brightness = random.Uniform(Math.Max(0, 1 - bj), 1 + bj);
        double contrast = random.Uniform(Math.Max(0, 1 - cj), 1 + cj);
        double saturation = random.Uniform(Math.Max(0, 1 - sj), 1 + sj);
        double hue = random.Uniform(-hj, hj) * 2 * Math.PI;
        bool gray = random.Chance(a.GrayscaleProb);
        var d = image.Data;
        int n = image.Width * image.Height;
        double meanGray = 0;
        for (int i = 0; i < n; i++) meanGray += 0.299 * d[3 * i] + 0.587 * d[3 * i + 1] + 0.114 * d[3 * i + 2];
        meanGray = meanGray / Math.Max(1, n) * brightness;
        double ch = Math.Cos(hue), sh = Math.Sin(hue);
        for (int i = 0; i < n; i++)
        {
            double r = d[3 * i] * brightness, g = d[3 * i + 1] * brightness, b = d[3 * i + 2] * brightness;
            r = (r - meanGray) * contrast + meanGray;
            g = (g - meanGray) * contrast + meanGray;
            b = (b - meanGray) * contrast + meanGray;
            double y = 0.299 * r + 0.587 * g + 0.114 * b;
            double iq = 0.596 * r - 0.274 * g - 0.322 * b, q = 0.211 * r - 0.523 * g + 0.312 * b;
            iq *= saturation;
            q *= saturation;
            (iq, q) = (ch * iq - sh * q, sh * iq + ch * q);
            if (gray) iq = q = 0;
            d[3 * i] = Byte(y + 0.956 * iq + 0.621 * q);
            d[3 * i + 1] = Byte(y - 0.272 * iq - 0.647 * q);
            d[3 * i + 2] = Byte(y - 1.106 * iq + 1.703 * q);
        }
    }

    private static byte Byte(double v) => (byte)Math.Clamp(Math.Round(v), 0, 255);
}
