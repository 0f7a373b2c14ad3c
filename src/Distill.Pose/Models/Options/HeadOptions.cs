using System.ComponentModel.DataAnnotations;
using Distill.Config;

namespace Distill.Pose.Models.Options;

public enum HeadType
{
    RTMCCHead,
    HeatmapHead,
    RegressionHead,

    /// <summary>OpenPifPaf's composite fields (CIF and CAF) of a bottom-up model.</summary>
    CifCafHead,
}

/// <summary>
/// The prediction head. RTMCCHead uses final_layer_kernel_size and gau; HeatmapHead uses deconv_out_channels,
/// deconv_kernel_sizes and conv_out_channels; RegressionHead predicts coordinates directly.
/// </summary>
public sealed class HeadOptions : IValidatable
{
    public HeadType Type { get; set; } = HeadType.RTMCCHead;

    /// <summary>Channels of the backbone feature map the head reads; null means what the backbone produces.</summary>
    [Range(1, 65536)]
    public int? InChannels { get; set; }

    /// <summary>Keypoints predicted; null means the size of the model's keypoint set.</summary>
    [Range(1, 4096)]
    public int? OutChannels { get; set; }

    /// <summary>Kernel of the convolution from features to per-keypoint maps (odd, so padding keeps the size).</summary>
    [Range(1, 31)]
    public int FinalLayerKernelSize { get; set; } = 7;

    public GauOptions Gau { get; set; } = new();

    [Range(1, 65536)]
    public List<int> DeconvOutChannels { get; set; } = [256, 256];

    [Range(2, 4)]
    public List<int> DeconvKernelSizes { get; set; } = [4, 4];

    [Range(1, 65536)]
    public List<int> ConvOutChannels { get; set; } = [];

    /// <summary>Instances predicted per input crop; top-down heads predict one.</summary>
    [Range(1, 1024)]
    public int NumPersons { get; set; } = 1;

    /// <summary>CifCafHead: pixel-shuffle factor of the field heads (OpenPifPaf's --upsample); stride = feature stride / upsample.</summary>
    [Range(1, 8)]
    public int Upsample { get; set; } = 1;

    /// <summary>CifCafHead: relative tolerance of the scale loss (OpenPifPaf's --b-scale).</summary>
    [Range(0.0, 1e6, MinimumIsExclusive = true)]
    public double BScale { get; set; } = 1.0;

    /// <summary>CifCafHead: the backbone output the fields read (null: the last; an HRFormer's branch with multiscale_output).</summary>
    [Range(-8, 8)]
    public int? InIndex { get; set; }

    /// <summary>CifCafHead: read one backbone output (select) or all of them resized to the first and concatenated (resize_concat).</summary>
    public Pose.BottomUp.Heads.FeatureInput InputTransform { get; set; } = Pose.BottomUp.Heads.FeatureInput.Select;

    public IEnumerable<ValidationMessage> Validate()
    {
        if (InIndex is not null && InputTransform == Pose.BottomUp.Heads.FeatureInput.ResizeConcat)
            yield return ValidationMessage.For("in_index", "resize_concat reads every backbone output; leave in_index out", "input_transform");
        if (FinalLayerKernelSize % 2 == 0)
            yield return ValidationMessage.For("final_layer_kernel_size", $"must be odd, got {FinalLayerKernelSize}");
        if (DeconvKernelSizes.Count != DeconvOutChannels.Count)
            yield return ValidationMessage.For("deconv_kernel_sizes",
                $"gives {DeconvKernelSizes.Count} kernel sizes for {DeconvOutChannels.Count} deconv_out_channels");
    }
}
