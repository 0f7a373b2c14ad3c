using Distill.Pose.BottomUp;
using Distill.Pose.BottomUp.Heads;
using Distill.Pose.Codecs;
using Distill.Pose.Keypoints;
using Distill.Pose.Losses;
using Distill.Pose.Models;
using Distill.Pose.Models.Backbones;
using Distill.Pose.Models.Heads;
using Distill.Pose.Models.Options;

namespace Distill.Pose.Models;

/// <summary>Builds a top-down pose model from a config's model section (by type name), with its keypoint set.</summary>
public static class ModelFactory
{
    /// <summary>ViT sizes by name: (embed dims, layers, heads, feed-forward channels).</summary>
    private static readonly Dictionary<string, (int Dims, int Layers, int Heads, int Ffn)> VitArchs = new(StringComparer.OrdinalIgnoreCase)
    {
        ["small"] = (384, 12, 12, 1536),
        ["base"] = (768, 12, 12, 3072),
        ["large"] = (1024, 24, 16, 4096),
        ["huge"] = (1280, 32, 16, 5120),
    };

    public static (TopdownPoseEstimator Model, KeypointSet Keypoints) Build(ModelOptions o, GtLossOptions? gtLoss = null)
    {
        if (o.Type == ModelType.BottomupPoseEstimator)
            throw new ArgumentException("model.type: a BottomupPoseEstimator is not a top-down model; it is built by ModelFactory.BuildBottomup");
        var kps = KeypointSet.FromName(o.KeypointSet);
        int k = o.Head.OutChannels ?? kps.Count;
        if (k != kps.Count)
            throw new ArgumentException($"model.head.out_channels = {k} but keypoint set '{kps.Name}' has {kps.Count} keypoints");
        var input = (W: o.InputSize[0], H: o.InputSize[1]);
        var backbone = BuildBackbone(o, input);
        var head = BuildHead(o, backbone, k, input, gtLoss);
        var codec = BuildCodec(o.Codec, input);
        var model = new TopdownPoseEstimator(backbone, head, codec, kps.FlipIndices, o.TestCfg.FlipTest)
        {
            Mean = o.Mean,
            Std = o.Std,
            ShiftHeatmap = o.TestCfg.ShiftHeatmap,
        };
        return (model, kps);
    }

    /// <summary>A bottom-up CIF/CAF model (model.type BottomupPoseEstimator, head.type CifCafHead), with its keypoint set.</summary>
    public static (BottomupPoseEstimator Model, KeypointSet Keypoints) BuildBottomup(ModelOptions o)
    {
        if (o.Type != ModelType.BottomupPoseEstimator)
            throw new ArgumentException($"model.type: {o.Type} is not a bottom-up model (BottomupPoseEstimator)");
        if (o.Head.Type != HeadType.CifCafHead)
            throw new ArgumentException($"model.head.type: a BottomupPoseEstimator needs a CifCafHead, not a {o.Head.Type}");
        var kps = KeypointSet.FromName(o.KeypointSet);
        CifCafMeta meta;
        try
        {
            meta = kps.Name == "coco17" ? CifCafMeta.Coco() : CifCafMeta.FromKeypointSet(kps);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"model.keypoint_set '{kps.Name}': {e.Message}", e);
        }
        var input = (W: o.InputSize[0], H: o.InputSize[1]);
        var backbone = BuildBackbone(o, input);
        var h = o.Head;
        int n = backbone.OutChannels.Length;
        long cin;
        int featureStride;
        int index = -1;
        if (h.InputTransform == FeatureInput.ResizeConcat)
        {
            cin = backbone.OutChannels.Sum();
            featureStride = backbone.OutStrides[0];
        }
        else
        {
            index = h.InIndex ?? -1;
            int i = index < 0 ? n + index : index;
            if (i < 0 || i >= n)
                throw new ArgumentException($"model.head.in_index {index}: the backbone returns {n} feature map(s)" +
                    (o.Backbone.Type == BackboneType.HRFormer && !o.Backbone.MultiscaleOutput ? " (set model.backbone.multiscale_output: true for all four branches)" : ""));
            cin = backbone.OutChannels[i];
            featureStride = backbone.OutStrides[i];
        }
        if (h.InChannels is { } given && given != cin)
            throw new ArgumentException($"model.head.in_channels = {given} but the selected features have {cin} channels");
        if (featureStride % h.Upsample != 0)
            throw new ArgumentException($"model.head.upsample {h.Upsample} does not divide the feature stride {featureStride}");
        var head = new CifCafHead(meta, cin, featureStride, h.Upsample, h.BScale, h.InputTransform, index);
        var model = new BottomupPoseEstimator(backbone, head)
        {
            InputSize = input,
            Mean = o.Mean,
            Std = o.Std,
        };
        return (model, kps);
    }

    private static Backbone BuildBackbone(ModelOptions o, (int W, int H) input)
    {
        var b = o.Backbone;
        switch (b.Type)
        {
            case BackboneType.CSPNeXt:
                if ((b.Arch ?? "P5") != "P5") throw new ArgumentException($"model.backbone.arch: only CSPNeXt P5 is built here, not {b.Arch}");
                return new CSPNeXt(b.DeepenFactor, b.WidenFactor, b.OutIndices?.ToArray(), b.ChannelAttention, b.ExpandRatio, o.BnEps, o.BnMomentum);
            case BackboneType.VisionTransformer:
                var arch = b.Arch is null or "custom"
                    ? (Dims: b.EmbedDims ?? 768, Layers: b.NumLayers ?? 12, Heads: b.NumHeads ?? 12, Ffn: b.FeedforwardChannels ?? 3072)
                    : VitArchs.TryGetValue(b.Arch, out var a) ? a
                    : throw new ArgumentException($"model.backbone.arch: unknown ViT size '{b.Arch}' (known: {string.Join(", ", VitArchs.Keys)}, custom)");
                var img = b.ImgSize is { Length: 2 } s ? (s[0], s[1]) : input;
                return new VisionTransformer(b.EmbedDims ?? arch.Dims, b.NumLayers ?? arch.Layers, b.NumHeads ?? arch.Heads,
                    b.FeedforwardChannels ?? arch.Ffn, img, b.PatchSize, b.PatchPadding, b.QkvBias, b.DropPathRate);
            case BackboneType.HRFormer:
                return BuildHRFormer(o);
            default:
                throw new ArgumentException($"model.backbone.type: unknown backbone {b.Type}");
        }
    }

    /// <summary>The arch preset (small unless named) with every given key overriding its value.</summary>
    public static HRFormerArch HRFormerArchOf(BackboneOptions b)
    {
        var preset = b.Arch is null or "custom" ? HRFormerArch.Small
            : HRFormerArch.FromName(b.Arch) ?? throw new ArgumentException($"model.backbone.arch: unknown HRFormer size '{b.Arch}' (known: tiny, small, base, custom)");
        return preset with
        {
            Channels = b.NumChannels?.Select(c => (long)c).ToArray() ?? preset.Channels,
            Heads = b.BranchHeads?.Select(h => (long)h).ToArray() ?? preset.Heads,
            Modules = b.NumModules?.ToArray() ?? preset.Modules,
            Blocks = b.NumBlocks ?? preset.Blocks,
            Window = b.WindowSize,
            MlpRatio = b.MlpRatio,
        };
    }

    private static HRFormer BuildHRFormer(ModelOptions o)
    {
        var b = o.Backbone;
        var arch = HRFormerArchOf(b);
        if (arch.Problems() is { Count: > 0 } problems)
            throw new ArgumentException("model.backbone: " + string.Join("; ", problems));
        // A heatmap head reads the backbone's last map; with all four branches returned that would be stride 32.
        if (b.MultiscaleOutput && o.Head.Type == HeadType.HeatmapHead)
            throw new ArgumentException("model.backbone.multiscale_output: a HeatmapHead reads branch 0 (stride 4) alone; set multiscale_output: false");
        return new HRFormer(arch, b.DropPathRate, b.MultiscaleOutput, o.BnEps, o.BnMomentum);
    }

    private static PoseHead BuildHead(ModelOptions o, Backbone backbone, int k, (int W, int H) input, GtLossOptions? gtLoss)
    {
        var h = o.Head;
        long cin = h.InChannels ?? backbone.OutChannels[^1];
        int stride = backbone.OutStrides[^1];
        var gt = gtLoss ?? new GtLossOptions();
        var computed = h.Type switch
        {
            HeadType.RTMCCHead => GtLossType.KLDiscretLoss,
            HeadType.HeatmapHead => GtLossType.KeypointMSELoss,
            _ => GtLossType.RegressionMSE,
        };
        // Each head computes one loss; a config naming another would otherwise train with a loss it did not ask for.
        bool regressionLoss = h.Type == HeadType.RegressionHead && gt.Type is GtLossType.SmoothL1Loss or GtLossType.RLELoss;
        if (gt.Type is { } asked && asked != computed && !regressionLoss)
            throw new ArgumentException($"losses.gt.type: a {h.Type} trains with " +
                (h.Type == HeadType.RegressionHead ? "RegressionMSE, SmoothL1Loss or RLELoss" : computed.ToString()) + $", not {asked}");
        switch (h.Type)
        {
            case HeadType.RTMCCHead:
                if (h.Gau.UseRelBias || h.Gau.PosEnc || h.Gau.ActFn != GauActivation.SiLU)
                    throw new ArgumentException("model.head.gau: only the RTMPose configuration (SiLU, no relative bias, no position encoding) is built");
                var feat = ((input.W + stride - 1) / stride, (input.H + stride - 1) / stride);
                return new RTMCCHead(cin, k, input, feat, o.Codec.SimccSplitRatio, h.FinalLayerKernelSize, h.Gau.HiddenDims,
                    h.Gau.S, h.Gau.ExpansionFactor, h.Gau.DropoutRate, h.Gau.DropPath)
                {
                    LossFunction = new KLDiscretLoss(gt.Beta, gt.LabelSoftmax, gt.UseTargetWeight),
                    LossWeight = gt.Weight,
                };
            case HeadType.HeatmapHead:
                return new HeatmapHead(cin, k, h.DeconvOutChannels.Select(c => (long)c).ToArray(),
                    h.DeconvKernelSizes.Select(c => (long)c).ToArray(), h.ConvOutChannels.Select(c => (long)c).ToArray())
                {
                    LossFunction = new KeypointMSELoss(gt.UseTargetWeight),
                    LossWeight = gt.Weight,
                };
            case HeadType.RegressionHead:
                // RLE needs a sigma per coordinate, so its head predicts 4 values per keypoint.
                var rle = gt.Type == GtLossType.RLELoss;
                var reg = new RegressionHead(cin, k, h.NumPersons, withSigma: rle) { LossWeight = gt.Weight };
                if (rle) reg.LossFunction = new RLELoss();
                else if (gt.Type == GtLossType.SmoothL1Loss) reg.LossFunction = new RegressionSmoothL1Loss();
                return reg;
            default:
                throw new ArgumentException($"model.head.type: unknown head {h.Type}");
        }
    }

    public static IKeypointCodec BuildCodec(CodecOptions c, (int W, int H) input)
    {
        if (c.InputSize is { Length: 2 } s && (s[0] != input.W || s[1] != input.H))
            throw new ArgumentException($"codec.input_size [{s[0]}, {s[1]}] differs from model.input_size [{input.W}, {input.H}]");
        var heat = c.HeatmapSize is { Length: 2 } hs ? (hs[0], hs[1]) : (input.W / 4, input.H / 4);
        switch (c.Type)
        {
            case CodecType.SimCCLabel:
                var sigma = c.Sigma switch
                {
                    null => (6.0, 6.0),
                    { Count: 1 } one => (one[0], one[0]),
                    var two => (two[0], two[1]),
                };
                if (c.UseDark) throw new ArgumentException("codec.use_dark: DARK refinement of SimCC is not supported");
                return new SimCCLabel(input, sigma, c.SimccSplitRatio, c.Normalize);
            case CodecType.MSRAHeatmap:
                return new MSRAHeatmap(input, heat, c.Sigma?[0] ?? 2.0, c.UseDark);
            case CodecType.UDPHeatmap:
                return new UDPHeatmap(input, heat, c.Sigma?[0] ?? 2.0);
            case CodecType.RegressionLabel:
                return new RegressionLabel(input);
            default:
                throw new ArgumentException($"codec.type: unknown codec {c.Type}");
        }
    }
}
