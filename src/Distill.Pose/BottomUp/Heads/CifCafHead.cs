using Distill.Pose.BottomUp.Losses;
using Distill.Pose.Models.Heads;
using Distill.Torch;
using Distill.Torch.Nn;

namespace Distill.Pose.BottomUp.Heads;

/// <summary>How a field head picks its input from the backbone's feature maps (mmpose's input_transform).</summary>
public enum FeatureInput
{
    /// <summary>One map, the backbone output at in_index.</summary>
    Select,

    /// <summary>Every output bilinearly resized to the first one's exact size and concatenated along channels.</summary>
    ResizeConcat,
}

/// <summary>
/// OpenPifPaf's pair of composite field heads over one feature map: CIF ("cif", (N, K, 5, H, W)) and CAF ("caf",
/// (N, L, 8, H, W)), raw in training and activated in eval (see <see cref="CompositeFieldHead"/>). The loss is the
/// six named terms cif.c, cif.vec, cif.scales, caf.c, caf.vec, caf.scales against the encoders' targets ("cif" (N, K,
/// 5, H, W) and "caf" (N, L, 9, H, W)). Parameter names: cif.conv.*, caf.conv.*.
/// </summary>
public sealed class CifCafHead : PoseHead
{
    public const string CifName = "cif";
    public const string CafName = "caf";

    private readonly CompositeFieldHead _cif;
    private readonly CompositeFieldHead _caf;
    private readonly CompositeFieldLoss _cifLoss;
    private readonly CompositeFieldLoss _cafLoss;

    /// <param name="inChannels">Channels of the selected (or concatenated) feature map.</param>
    /// <param name="featureStride">Stride of that map; the fields' stride is featureStride / upsample.</param>
    /// <param name="inIndex">Which backbone output <see cref="FeatureInput.Select"/> reads (negative counts from the end).</param>
    public CifCafHead(CifCafMeta meta, long inChannels, int featureStride, int upsample = 1, double scaleB = 1.0,
        FeatureInput input = FeatureInput.Select, int inIndex = -1)
    {
        Meta = meta;
        Input = input;
        InIndex = inIndex;
        _cif = RegisterModule(CifName, CompositeFieldHead.Cif(meta, inChannels, featureStride, upsample));
        _caf = RegisterModule(CafName, CompositeFieldHead.Caf(meta, inChannels, featureStride, upsample));
        _cifLoss = CompositeFieldLoss.Cif(scaleB);
        _cafLoss = CompositeFieldLoss.Caf(scaleB);
    }

    public CifCafMeta Meta { get; }
    public FeatureInput Input { get; }
    public int InIndex { get; }

    /// <summary>Input pixels per field cell.</summary>
    public int Stride => _cif.Stride;

    public int Upsample => _cif.Upsample;

    public double ScaleB => _cifLoss.ScaleB;

    public CompositeFieldHead Cif => _cif;
    public CompositeFieldHead Caf => _caf;

    public override long NumKeypoints => Meta.NumKeypoints;

    public override string[] OutputNames => [CifName, CafName];

    /// <summary>The loss terms' names, in the order <see cref="Loss"/> returns them.</summary>
    public string[] LossNames => [.. _cifLoss.TermNames, .. _cafLoss.TermNames];

    /// <summary>The feature map the fields are computed from.</summary>
    public Tensor SelectFeatures(Tensor[] features)
    {
        if (features.Length == 0) throw new ArgumentException("the backbone returned no feature map");
        if (Input == FeatureInput.Select)
        {
            int i = InIndex < 0 ? features.Length + InIndex : InIndex;
            if (i < 0 || i >= features.Length)
                throw new ArgumentException($"model.head.in_index {InIndex}: the backbone returns {features.Length} feature maps");
            return features[i].Alias();
        }
        using var scope = torch.NewDisposeScope();
        var size = (features[0].Size(2), features[0].Size(3));
        var parts = features.Select((f, i) => i == 0 ? f : Functional.Interpolate(f, size, InterpolationMode.Bilinear, alignCorners: false)).ToList();
        return torch.Cat(parts, 1).MoveToOuterDisposeScope();
    }

    public override Dictionary<string, Tensor> Forward(Tensor[] features)
    {
        using var x = SelectFeatures(features);
        return new Dictionary<string, Tensor> { [CifName] = _cif.Forward(x), [CafName] = _caf.Forward(x) };
    }

    public override Dictionary<string, Tensor> Loss(IReadOnlyDictionary<string, Tensor> outputs, IReadOnlyDictionary<string, Tensor> targets)
    {
        var terms = _cifLoss.Forward(outputs[CifName], Target(targets, CifName));
        foreach (var (k, v) in _cafLoss.Forward(outputs[CafName], Target(targets, CafName))) terms[k] = v;
        return terms;
    }
}
