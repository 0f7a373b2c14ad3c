using System.ComponentModel.DataAnnotations;
using Distill.Config;

namespace Distill.Pose.Models.Options;

public enum ModelType
{
    TopdownPoseEstimator,

    /// <summary>OpenPifPaf's bottom-up CIF/CAF model: the whole image in, every person out (head.type CifCafHead).</summary>
    BottomupPoseEstimator,
}

/// <summary>
/// A top-down pose network: backbone, head, the codec that turns keypoints into targets and back, and the input
/// normalisation. This section alone is enough to build, load and export a model (see
/// <see cref="ConfigLoader.LoadModel"/>).
/// </summary>
public sealed class ModelOptions : IValidatable
{
    public ModelType Type { get; set; } = ModelType.TopdownPoseEstimator;

    /// <summary>Name of the keypoint set the network predicts (coco17, mpii16, unified21, ...).</summary>
    public string KeypointSet { get; set; } = "coco17";

    /// <summary>Network input [width, height] in pixels.</summary>
    [Length(2, 2)]
    [Range(1, 8192)]
    public int[] InputSize { get; set; } = [192, 256];

    public BackboneOptions Backbone { get; set; } = new();

    public HeadOptions Head { get; set; } = new();

    /// <summary>The target codec; a top-level <c>codec</c> section of a file lands here too.</summary>
    public CodecOptions Codec { get; set; } = new();

    public TestCfgOptions TestCfg { get; set; } = new();

    /// <summary>Whole-model weights to start from (a checkpoint file).</summary>
    public string? InitCheckpoint { get; set; }

    /// <summary>Backbone-only weights to start from (for example ImageNet pre-training).</summary>
    public string? BackboneCheckpoint { get; set; }

    /// <summary>Per-channel RGB mean subtracted from 0-255 pixels (ImageNet statistics by default).</summary>
    [Length(3, 3)]
    public double[] Mean { get; set; } = [123.675, 116.28, 103.53];

    /// <summary>Per-channel RGB standard deviation that pixels are divided by after the mean.</summary>
    [Length(3, 3)]
    [Range(0.0, double.MaxValue, MinimumIsExclusive = true)]
    public double[] Std { get; set; } = [58.395, 57.12, 57.375];

    /// <summary>PyTorch-convention BatchNorm momentum (weight of the new batch statistic).</summary>
    [Range(0.0, 1.0)]
    public double BnMomentum { get; set; } = 0.1;

    [Range(0.0, 1.0, MinimumIsExclusive = true)]
    public double BnEps { get; set; } = 1e-5;

    /// <summary>
    /// In data-parallel training, BatchNorm layers of the student compute their training statistics over the batches
    /// of all workers (SyncBatchNorm) instead of each worker's own; no effect in a single process.
    /// </summary>
    public bool SyncBn { get; set; }

    /// <summary>
    /// Train the student with its weights and input batches channels-last (NHWC), where libtorch's CPU convolutions
    /// and their gradients are faster; the results differ from the default layout only by floating-point rounding, and
    /// checkpoints are written in the logical (row-major) order either way. Ignored for students without ConvModules
    /// (ViT). Teachers follow their own <see cref="TeacherOptions.ChannelsLast"/>, not this key of their config.
    /// </summary>
    public bool ChannelsLast { get; set; } = true;

    public IEnumerable<ValidationMessage> Validate()
    {
        // A bottom-up model has no codec (its fields are encoded by the data pipeline); its head must be the field pair.
        if (Type == ModelType.BottomupPoseEstimator || Head.Type == HeadType.CifCafHead)
        {
            if (Type != ModelType.BottomupPoseEstimator)
                yield return ValidationMessage.For("type", $"a CifCafHead belongs to a BottomupPoseEstimator, not a {Type}", "head.type");
            else if (Head.Type != HeadType.CifCafHead)
                yield return ValidationMessage.For("head.type", $"a BottomupPoseEstimator needs a CifCafHead, not a {Head.Type}", "type");
            else if (Backbone.Type == BackboneType.HRFormer && !Backbone.MultiscaleOutput &&
                     (Head.InputTransform == Pose.BottomUp.Heads.FeatureInput.ResizeConcat || Head.InIndex is > 0))
                yield return ValidationMessage.For("head.in_index", "an HRFormer returns branch 0 alone unless backbone.multiscale_output is true; " +
                    "set it to read another branch or to concatenate them", "backbone.multiscale_output");
            yield break;
        }
        var expected = Head.Type switch
        {
            HeadType.RTMCCHead => new[] { CodecType.SimCCLabel },
            HeadType.HeatmapHead => [CodecType.MSRAHeatmap, CodecType.UDPHeatmap],
            _ => [CodecType.RegressionLabel],
        };
        if (!expected.Contains(Codec.Type))
            yield return ValidationMessage.For("codec.type",
                $"a {Head.Type} needs a {string.Join(" or ", expected)} codec, not {Codec.Type}", "head.type");
        if (TestCfg.ShiftHeatmap is not null && Codec.Type is not (CodecType.MSRAHeatmap or CodecType.UDPHeatmap))
            yield return ValidationMessage.For("test_cfg.shift_heatmap",
                $"only heatmap codecs (MSRAHeatmap, UDPHeatmap) shift flipped heatmaps; a {Codec.Type} model has none", "codec.type");
        if (TestCfg.Inference == TopdownInference.Classic && Head.Type != HeadType.HeatmapHead)
            yield return ValidationMessage.For("test_cfg.inference",
                $"the classic path decodes heatmaps; a {Head.Type} has none (use mmpose)", "head.type");
        if (Codec.InputSize is { Length: 2 } codecSize && !codecSize.SequenceEqual(InputSize))
            yield return ValidationMessage.For("codec.input_size",
                $"[{codecSize[0]}, {codecSize[1]}] differs from the model's input_size [{InputSize[0]}, {InputSize[1]}]", "input_size");
    }
}
