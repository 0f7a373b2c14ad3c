using Distill.Torch;
using Distill.Torch.Nn;

namespace Distill.Pose.BottomUp.Heads;

/// <summary>
/// OpenPifPaf's composite field head over any backbone feature map (N, C, H, W) of a known stride: a 1x1 convolution
/// (with bias) to fields x components x u^2 channels, then, for u &gt; 1, pixel shuffle by u and a crop of
/// floor((u-1)/2) rows and columns at the top-left and ceil((u-1)/2) at the bottom-right (u = 2: 2H - 1 rows), so
/// that cell i still sits on input pixel i x stride. The output is (N, fields, components, H', W') with channel
/// field x components + component, components = [spread, confidence, vectors (x, y)..., scales...].
/// In training mode the output is raw (what the loss reads). In eval mode <see cref="Activate"/> is applied: sigmoid
/// confidence, vectors plus the cell index (absolute positions in cells), softplus scales, spread left raw.
/// Parameter names: conv.weight, conv.bias.
/// </summary>
public sealed class CompositeFieldHead : Module<Tensor, Tensor>
{
    private readonly Conv2d _conv;

    /// <param name="name">"cif" or "caf" (or another name for logs).</param>
    /// <param name="inChannels">Channels of the feature map the head reads.</param>
    /// <param name="fields">Keypoints (CIF) or limbs (CAF).</param>
    /// <param name="vectors">Vectors per field: 1 for CIF, 2 for CAF.</param>
    /// <param name="scales">Scales per field: 1 for CIF, 2 for CAF.</param>
    /// <param name="featureStride">Stride of the feature map relative to the input.</param>
    /// <param name="upsample">Pixel-shuffle factor u; the head's stride is featureStride / u.</param>
    public CompositeFieldHead(string name, long inChannels, int fields, int vectors, int scales, int featureStride, int upsample = 1)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (inChannels < 1) throw new ArgumentOutOfRangeException(nameof(inChannels), inChannels, "must be positive");
        if (fields < 1) throw new ArgumentOutOfRangeException(nameof(fields), fields, "must be positive");
        if (vectors < 0 || scales < 0) throw new ArgumentException("vector and scale counts must not be negative");
        if (upsample < 1) throw new ArgumentOutOfRangeException(nameof(upsample), upsample, "must be at least 1");
        if (featureStride < 1 || featureStride % upsample != 0)
            throw new ArgumentException($"feature stride {featureStride} must be a positive multiple of upsample {upsample}");
        Name = name;
        Fields = fields;
        Vectors = vectors;
        Scales = scales;
        Upsample = upsample;
        Stride = featureStride / upsample;
        _conv = RegisterModule("conv", new Conv2d(inChannels, (long)fields * Components * upsample * upsample, 1));
    }

    /// <summary>A CIF head: one field per keypoint, components [spread, conf, dx, dy, scale].</summary>
    public static CompositeFieldHead Cif(CifCafMeta meta, long inChannels, int featureStride, int upsample = 1) =>
        new("cif", inChannels, meta.NumKeypoints, 1, 1, featureStride, upsample);

    /// <summary>A CAF head: one field per limb, components [spread, conf, x1, y1, x2, y2, s1, s2].</summary>
    public static CompositeFieldHead Caf(CifCafMeta meta, long inChannels, int featureStride, int upsample = 1) =>
        new("caf", inChannels, meta.NumLimbs, 2, 2, featureStride, upsample);

    public string Name { get; }
    public int Fields { get; }
    public int Vectors { get; }
    public int Scales { get; }
    public int Upsample { get; }

    /// <summary>Input pixels per output cell.</summary>
    public int Stride { get; }

    /// <summary>1 spread + 1 confidence + 2 per vector + 1 per scale.</summary>
    public int Components => 2 + 2 * Vectors + Scales;

    public Conv2d Conv => _conv;

    /// <summary>Output cells for a feature map of <paramref name="featureSize"/> cells along one axis.</summary>
    public long OutputSize(long featureSize) => featureSize * Upsample - (Upsample - 1);

    public override Tensor Forward(Tensor features)
    {
        if (features.Dim != 4) throw new ArgumentException($"{Name} head expects (N, C, H, W) features, got ({string.Join(", ", features.Shape)})");
        using var scope = torch.NewDisposeScope();
        var x = _conv.Forward(features);
        if (Upsample > 1)
        {
            x = PixelShuffle(x, Upsample);
            long low = (Upsample - 1) / 2, high = Upsample - 1 - low;
            long h = x.Size(2), w = x.Size(3);
            x = x.Slice(2, low, h - high).Slice(3, low, w - high);
        }
        x = x.Reshape(x.Size(0), Fields, Components, x.Size(2), x.Size(3));
        if (!Training) x = Activate(x, Vectors, Scales);
        return x.MoveToOuterDisposeScope();
    }

    /// <summary>PyTorch's pixel_shuffle: (N, C u^2, H, W) to (N, C, H u, W u), channel c u^2 + i u + j landing on
    /// row offset i and column offset j.</summary>
    public static Tensor PixelShuffle(Tensor x, int u)
    {
        long n = x.Size(0), c = x.Size(1) / (u * u), h = x.Size(2), w = x.Size(3);
        using var split = x.Reshape(n, c, u, u, h, w);
        using var moved = split.Permute(0, 1, 4, 2, 5, 3);
        return moved.Reshape(n, c, h * u, w * u);
    }

    /// <summary>
    /// The eval-time transform of a raw (N, fields, components, H, W) output: sigmoid on the confidence, the cell
    /// index (x = column, y = row) added to every vector, softplus on the scales; the spread is left raw.
    /// </summary>
    public static Tensor Activate(Tensor raw, int vectors, int scales)
    {
        if (raw.Dim != 5 || raw.Size(2) != 2 + 2 * vectors + scales)
            throw new ArgumentException($"expected (N, fields, {2 + 2 * vectors + scales}, H, W), got ({string.Join(", ", raw.Shape)})");
        using var scope = torch.NewDisposeScope();
        long h = raw.Size(3), w = raw.Size(4);
        var xs = torch.Arange(0, w, 1, DType.Float32, raw.Device).View(1, w).Expand(h, w);
        var ys = torch.Arange(0, h, 1, DType.Float32, raw.Device).View(h, 1).Expand(h, w);
        var index = torch.Stack([xs, ys]).To(raw.DType);
        var parts = new List<Tensor> { raw.Narrow(2, 0, 1), raw.Narrow(2, 1, 1).Sigmoid() };
        for (int v = 0; v < vectors; v++) parts.Add(raw.Narrow(2, 2 + 2 * v, 2) + index);
        if (scales > 0) parts.Add(raw.Narrow(2, 2 + 2 * vectors, scales).Softplus());
        return torch.Cat(parts, 2).MoveToOuterDisposeScope();
    }
}
