using Distill.Pose.Codecs;
using Distill.Pose.Models.Backbones;
using Distill.Pose.Models.Heads;
using Distill.Pose.Models.Layers;
using Distill.Torch;
using Distill.Torch.Nn;

namespace Distill.Pose.Models;

/// <summary>Outputs of one forward pass: the backbone features and the head's named outputs.</summary>
public sealed class PoseOutputs(Tensor[] features, Dictionary<string, Tensor> heads) : IDisposable
{
    public Tensor[] Features { get; } = features;
    public Dictionary<string, Tensor> Heads { get; } = heads;

    public Tensor this[string name] => Heads[name];

    public void Dispose()
    {
        foreach (var f in Features) f.Dispose();
        foreach (var h in Heads.Values) h.Dispose();
    }
}

/// <summary>
/// A top-down pose model: backbone + head + codec, with the test-time flip. Inputs are normalised (N, 3, H, W) crops;
/// decoded keypoints are in input (crop) pixels. Names: backbone.*, head.* (as mmpose checkpoints).
/// </summary>
public sealed class TopdownPoseEstimator : Module<Tensor, Dictionary<string, Tensor>>
{
    public Backbone Backbone { get; }
    public PoseHead Head { get; }
    public IKeypointCodec Codec { get; }
    public int[] FlipIndices { get; }
    public (int Width, int Height) InputSize => Codec.InputSize;
    public bool FlipTest { get; set; }

    /// <summary>
    /// Whether the flip test shifts mirrored heatmaps one column to the right (mmpose's test_cfg.shift_heatmap); null
    /// follows the heatmap codec's own default (MSRA shifts, UDP does not). Only heatmap codecs have the shift.
    /// </summary>
    public bool? ShiftHeatmap { get; set; }

    /// <summary>RGB normalisation applied before the network (not part of it, nor of exported graphs).</summary>
    public double[] Mean { get; init; } = [123.675, 116.28, 103.53];
    public double[] Std { get; init; } = [58.395, 57.12, 57.375];

    public TopdownPoseEstimator(Backbone backbone, PoseHead head, IKeypointCodec codec, int[] flipIndices, bool flipTest = false)
    {
        if (flipIndices.Length != head.NumKeypoints)
            throw new ArgumentException($"{flipIndices.Length} flip indices for a head of {head.NumKeypoints} keypoints");
        Backbone = RegisterModule("backbone", backbone);
        Head = RegisterModule("head", head);
        Codec = codec;
        FlipIndices = flipIndices;
        FlipTest = flipTest;
    }

    public long NumKeypoints => Head.NumKeypoints;

    public override Dictionary<string, Tensor> Forward(Tensor input)
    {
        var feats = Backbone.Forward(input);
        try
        {
            return Head.Forward(feats);
        }
        finally
        {
            foreach (var f in feats) f.Dispose();
        }
    }

    /// <summary>Forward keeping the backbone features (feature distillation needs them).</summary>
    public PoseOutputs ForwardWithFeatures(Tensor input)
    {
        var feats = Backbone.Forward(input);
        return new PoseOutputs(feats, Head.Forward(feats));
    }

    public Dictionary<string, Tensor> Loss(IReadOnlyDictionary<string, Tensor> outputs, IReadOnlyDictionary<string, Tensor> targets) =>
        Head.Loss(outputs, targets);

    /// <summary>
    /// Head outputs for inference, with the flip test when enabled: the mirrored crop's outputs are mapped back by the
    /// codec (channels swapped by flip indices, x mirrored) and averaged with the plain outputs.
    /// </summary>
    public Dictionary<string, Tensor> InferenceOutputs(Tensor input, bool? flipTest = null)
    {
        var plain = Forward(input);
        if (!(flipTest ?? FlipTest)) return plain;
        using var scope = torch.NewDisposeScope();
        var flippedIn = input.Flip(3);
        var flippedOut = Forward(flippedIn);
        var names = Head.OutputNames;
        var back = FlipBack(names.Select(n => flippedOut[n]).ToList());
        var result = new Dictionary<string, Tensor>();
        for (int i = 0; i < names.Length; i++)
            result[names[i]] = ((plain[names[i]] + back[i]) * 0.5).MoveToOuterDisposeScope();
        foreach (var t in plain.Values) t.Dispose();
        foreach (var t in flippedOut.Values) t.Dispose();
        return result;
    }

    /// <summary>The codec's flip-back of the mirrored crop's outputs, with <see cref="ShiftHeatmap"/> when it is set.</summary>
    private IReadOnlyList<Tensor> FlipBack(IReadOnlyList<Tensor> flipped)
    {
        if (Codec is not HeatmapCodec heatmaps || ShiftHeatmap is not { } shift) return Codec.FlipBack(flipped, FlipIndices);
        CodecChecks.OutputCount(heatmaps.TypeName, flipped, 1, "heatmaps");
        return [heatmaps.FlipBack(flipped[0], FlipIndices, shift)];
    }

    /// <summary>Decoded keypoints (input pixels) and scores for a batch of normalised crops.</summary>
    public DecodedKeypoints Predict(Tensor input, bool? flipTest = null)
    {
        var outputs = InferenceOutputs(input, flipTest);
        try
        {
            return Codec.Decode(Head.OutputNames.Select(n => outputs[n]).ToList());
        }
        finally
        {
            foreach (var t in outputs.Values) t.Dispose();
        }
    }

    /// <summary>Folds every BatchNorm that follows a conv into that conv (inference only; frozen teachers and export).</summary>
    public void FoldBatchNorm()
    {
        foreach (var (_, m) in NamedModules().ToList())
            if (m is ConvModule cm) cm.FoldBatchNorm();
    }

    /// <summary>Whether the network is built from ConvModules (CSPNeXt), the kind channels-last (<see cref="Module.ToChannelsLast"/>:
    /// ~1.4x for RTMPose-m at batch 32 on CPU) and BN folding speed up.</summary>
    public bool IsConvolutional => NamedModules().Any(m => m.Module is ConvModule);
}
