using System.Text.RegularExpressions;
using Distill.Pose.Models.Backbones;
using Distill.Torch;
using Distill.Torch.Serialization;

namespace Distill.Pose.Models.Checkpoints;

/// <summary>
/// Converts a checkpoint in the ViTPose authors' layout (their mmpose 0.x fork) to mmpose 1.x names:
/// <c>backbone.blocks.N.{norm1, attn.qkv, attn.proj, norm2, mlp.fc1, mlp.fc2}</c> become
/// <c>backbone.layers.N.{ln1, attn.qkv, attn.proj, ln2, ffn.layers.0.0, ffn.layers.1}</c>,
/// <c>backbone.patch_embed.proj</c> becomes <c>backbone.patch_embed.projection</c>, <c>backbone.last_norm</c> becomes
/// <c>backbone.ln1</c>, and <c>keypoint_head.*</c> becomes <c>head.*</c> (the deconv stack and final conv keep their
/// indices). The position embedding loses its cls slot, which that model adds to every patch position.
/// </summary>
public static partial class ViTPoseKeyMap
{
    public const string PosEmbedKey = "backbone.pos_embed";
    private const string HeadPrefix = "keypoint_head.";

    private static readonly Dictionary<string, string> BlockParts = new(StringComparer.Ordinal)
    {
        ["norm1"] = "ln1",
        ["attn.qkv"] = "attn.qkv",
        ["attn.proj"] = "attn.proj",
        ["norm2"] = "ln2",
        ["mlp.fc1"] = "ffn.layers.0.0",
        ["mlp.fc2"] = "ffn.layers.1",
    };

    [GeneratedRegex(@"^backbone\.blocks\.(\d+)\.(norm1|attn\.qkv|attn\.proj|norm2|mlp\.fc1|mlp\.fc2)\.([^.]+)$")]
    private static partial Regex BlockKey();

    /// <summary>True when the keys carry this layout's marks (its block, final-norm or head names).</summary>
    public static bool Matches(IEnumerable<string> keys) => keys.Any(k =>
        k.StartsWith(HeadPrefix, StringComparison.Ordinal) || BlockKey().IsMatch(k)
        || k.StartsWith("backbone.last_norm.", StringComparison.Ordinal)
        || k.StartsWith("backbone.patch_embed.proj.", StringComparison.Ordinal));

    /// <summary>
    /// The mmpose name of one key of this layout, or null when no rule covers it. The position embedding keeps its
    /// name but its value needs <see cref="ConvertPosEmbed"/>.
    /// </summary>
    public static string? MapKey(string key)
    {
        if (key == PosEmbedKey) return key;
        if (key.StartsWith(HeadPrefix, StringComparison.Ordinal)) return "head." + key[HeadPrefix.Length..];
        if (BlockKey().Match(key) is { Success: true } m)
            return $"backbone.layers.{m.Groups[1].Value}.{BlockParts[m.Groups[2].Value]}.{m.Groups[3].Value}";
        const string proj = "backbone.patch_embed.proj.", norm = "backbone.last_norm.";
        if (key.StartsWith(proj, StringComparison.Ordinal)) return "backbone.patch_embed.projection." + key[proj.Length..];
        if (key.StartsWith(norm, StringComparison.Ordinal)) return "backbone.ln1." + key[norm.Length..];
        return null;
    }

    /// <summary>
    /// (1, 1 + N, C) to (1, N, C): the original model adds slot 0 to every patch position
    /// (<c>pos[:, 1:] + pos[:, :1]</c>), so the sum is the position each patch actually received. Returns a new tensor.
    /// </summary>
    public static Tensor ConvertPosEmbed(Tensor pos, string key = PosEmbedKey, string source = "state dict")
    {
        if (pos.Dim != 3 || pos.Size(0) != 1 || pos.Size(1) < 2)
            throw new CheckpointFormatException(source,
                $"'{key}' has shape [{string.Join(", ", pos.Shape)}]; expected (1, 1 + patches, channels) with a leading cls slot");
        using var scope = torch.NewDisposeScope();
        using var _ = Autograd.NoGrad();
        var sum = pos.Narrow(1, 1, pos.Size(1) - 1) + pos.Narrow(1, 0, 1);
        return sum.DetachFromDisposeScope();
    }

    /// <summary>
    /// Converts every key. With a <paramref name="target"/> backbone the position embedding is also fitted to its patch
    /// grid (needed when the model's input size differs from the checkpoint's). Keys no rule covers keep their names.
    /// </summary>
    public static KeyMapResult ToMmpose(IReadOnlyDictionary<string, Tensor> stateDict, VisionTransformer? target = null,
        string source = "state dict")
    {
        using var builder = new KeyMapBuilder(source);
        foreach (var (key, tensor) in stateDict)
        {
            if (key != PosEmbedKey)
            {
                builder.Add(MapKey(key) ?? key, tensor.Alias(), key);
                continue;
            }
            var pos = ConvertPosEmbed(tensor, key, source);
            builder.Note($"'{key}': the cls slot was added to every patch position ([1, {tensor.Size(1)}, {tensor.Size(2)}] -> " +
                $"[1, {pos.Size(1)}, {pos.Size(2)}])");
            if (target is not null)
            {
                Tensor? fitted;
                try
                {
                    fitted = PosEmbedFit.Fit(pos, target.PosGrid, key, builder);
                }
                catch
                {
                    pos.Dispose();
                    throw;
                }
                if (fitted is not null)
                {
                    pos.Dispose();
                    pos = fitted;
                }
            }
            builder.Add(PosEmbedKey, pos, key);
        }
        return builder.Build(CheckpointLayout.OriginalViTPose);
    }
}
