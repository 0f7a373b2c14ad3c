using System.ComponentModel.DataAnnotations;
using Distill.Config;
using Distill.Pose.Models.Backbones;

namespace Distill.Pose.Models.Options;

public enum BackboneType
{
    CSPNeXt,
    VisionTransformer,
    HRFormer,
}

/// <summary>
/// The feature extractor. CSPNeXt keys: arch (P5 or P6), deepen_factor, widen_factor, expand_ratio,
/// channel_attention. VisionTransformer keys: arch (a named size, or custom with the four dimensions given),
/// embed_dims, num_layers, num_heads, feedforward_channels, patch_size, patch_padding, drop_path_rate, img_size,
/// qkv_bias. HRFormer keys: arch (tiny, small, base or custom), num_channels, branch_heads, num_modules, num_blocks,
/// window_size, mlp_ratio, drop_path_rate, multiscale_output; given keys override the arch's values. Keys of the other
/// types are ignored.
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

    /// <summary>HRFormer width of each of the four branches (strides 4, 8, 16, 32).</summary>
    [Range(1, 65536)]
    public List<int>? NumChannels { get; set; }

    /// <summary>HRFormer attention heads of each of the four branches.</summary>
    [Range(1, 1024)]
    public List<int>? BranchHeads { get; set; }

    /// <summary>HRFormer modules in stages 2, 3 and 4.</summary>
    [Range(1, 64)]
    public List<int>? NumModules { get; set; }

    /// <summary>HRFormer blocks per branch in every module.</summary>
    [Range(1, 64)]
    public int? NumBlocks { get; set; }

    /// <summary>HRFormer local attention window side.</summary>
    [Range(1, 64)]
    public int WindowSize { get; set; } = 7;

    /// <summary>HRFormer FFN hidden width over its input width.</summary>
    [Range(0.0, 64.0, MinimumIsExclusive = true)]
    public double MlpRatio { get; set; } = 4;

    /// <summary>
    /// HRFormer: fuse all four branches in the last module and return them all (strides 4-32) instead of branch 0 alone
    /// (mmpose's top-down layout, which heatmap heads need).
    /// </summary>
    public bool MultiscaleOutput { get; set; }

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
        else if (Type == BackboneType.HRFormer)
        {
            if (Arch is not null && Arch != "custom" && HRFormerArch.FromName(Arch) is null)
                yield return ValidationMessage.For("arch", $"an HRFormer arch is tiny, small, base or custom, got '{Arch}'");
            if (Arch == "custom" && (NumChannels is null || BranchHeads is null || NumModules is null))
                yield return ValidationMessage.For("arch", "a custom HRFormer needs num_channels, branch_heads and num_modules");
            if (NumChannels is { Count: not 4 })
                yield return ValidationMessage.For("num_channels", $"needs 4 values (one per branch), got {NumChannels.Count}");
            if (BranchHeads is { Count: not 4 })
                yield return ValidationMessage.For("branch_heads", $"needs 4 values (one per branch), got {BranchHeads.Count}");
            if (NumModules is { Count: not 3 })
                yield return ValidationMessage.For("num_modules", $"needs 3 values (stages 2, 3 and 4), got {NumModules.Count}");
            if (NumChannels is { Count: 4 } c && BranchHeads is { Count: 4 } h)
                for (var i = 0; i < 4; i++)
                    if (c[i] % h[i] != 0)
                        yield return ValidationMessage.For($"branch_heads.{i}", $"num_channels {c[i]} is not divisible by {h[i]} heads");
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
