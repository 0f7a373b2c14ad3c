using System.ComponentModel.DataAnnotations;
using Distill.Config;

namespace Distill.Pose.Models.Options;

public enum HeadType
{
    RTMCCHead,
    HeatmapHead,
    RegressionHead,
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

    public IEnumerable<ValidationMessage> Validate()
    {
        if (FinalLayerKernelSize % 2 == 0)
            yield return ValidationMessage.For("final_layer_kernel_size", $"must be odd, got {FinalLayerKernelSize}");
        if (DeconvKernelSizes.Count != DeconvOutChannels.Count)
            yield return ValidationMessage.For("deconv_kernel_sizes",
                $"gives {DeconvKernelSizes.Count} kernel sizes for {DeconvOutChannels.Count} deconv_out_channels");
    }
}
