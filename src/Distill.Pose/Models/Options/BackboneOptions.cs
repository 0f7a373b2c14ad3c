using System.ComponentModel.DataAnnotations;
using Distill.Config;

namespace Distill.Pose.Models.Options;

public enum BackboneType
{
    CSPNeXt,
    VisionTransformer,
}

/// <summary>
/// The feature extractor. CSPNeXt keys: arch (P5 or P6), deepen_factor, widen_factor, expand_ratio,
/// channel_attention. VisionTransformer keys: arch (a named size, or custom with the four dimensions given),
/// embed_dims, num_layers, num_heads, feedforward_channels, patch_size, patch_padding, drop_path_rate, img_size,
/// qkv_bias. Keys of the other type are ignored.
/// </summary>
public sealed class BackboneOptions : IValidatable
{
    public BackboneType Type { get; set; } = BackboneType.CSPNeXt;

    /// <summary>Architecture name; null means P5 for CSPNeXt and base for VisionTransformer.</summary>
    public string? Arch { get; set; }

    /// <summary>CSPNeXt block-count multiplier (blocks = max(round(n x deepen), 1)).</summary>
    [Range(0.0, 10.0, MinimumIsExclusive = true)]
    public double DeepenFactor { get; set; } = 1.0;

    /// <summary>CSPNeXt channel multiplier (channels = int(c x widen)).</summary>
    [Range(0.0, 10.0, MinimumIsExclusive = true)]
    public double WidenFactor { get; set; } = 1.0;

    /// <summary>Stages whose outputs the backbone returns; null means the last one.</summary>
    public List<int>? OutIndices { get; set; }

    public bool ChannelAttention { get; set; } = true;

    /// <summary>CSPLayer hidden width as a fraction of its output width.</summary>
    [Range(0.0, 1.0, MinimumIsExclusive = true)]
    public double ExpandRatio { get; set; } = 0.5;

    [Range(1, 65536)]
    public int? EmbedDims { get; set; }

    [Range(1, 1024)]
    public int? NumLayers { get; set; }

    [Range(1, 1024)]
    public int? NumHeads { get; set; }

    [Range(1, 262144)]
    public int? FeedforwardChannels { get; set; }

    [Range(1, 1024)]
    public int PatchSize { get; set; } = 16;

    [Range(0, 1024)]
    public int PatchPadding { get; set; } = 2;

    [Range(0.0, 1.0)]
    public double DropPathRate { get; set; } = 0.1;

    /// <summary>ViT input [width, height] that sizes the position embedding; null means the model's input_size.</summary>
    [Length(2, 2)]
    [Range(1, 8192)]
    public int[]? ImgSize { get; set; }

    public bool QkvBias { get; set; } = true;

    public IEnumerable<ValidationMessage> Validate()
    {
        if (Type == BackboneType.CSPNeXt)
        {
            var arch = Arch ?? "P5";
            if (arch is not ("P5" or "P6"))
            {
                yield return ValidationMessage.For("arch", $"a CSPNeXt arch is P5 or P6, got '{arch}'");
                yield break;
            }
            var stages = arch == "P5" ? 4 : 5;
            for (var i = 0; i < (OutIndices?.Count ?? 0); i++)
            {
                if (OutIndices![i] < 0 || OutIndices[i] > stages)
                    yield return ValidationMessage.For($"out_indices.{i}", $"{OutIndices[i]} is not a stage of {arch} (0 is the stem, 1-{stages} the stages)");
            }
        }
        else
        {
            if (Arch == "custom" && (EmbedDims is null || NumLayers is null || NumHeads is null || FeedforwardChannels is null))
                yield return ValidationMessage.For("arch", "a custom VisionTransformer needs embed_dims, num_layers, num_heads and feedforward_channels");
            if (EmbedDims is { } dims && NumHeads is { } heads && dims % heads != 0)
                yield return ValidationMessage.For("num_heads", $"embed_dims {dims} is not divisible by num_heads {heads}");
        }
    }
}
