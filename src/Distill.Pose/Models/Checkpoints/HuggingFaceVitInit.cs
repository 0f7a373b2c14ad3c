using System.Text.RegularExpressions;
using Distill.Pose.Models.Backbones;
using Distill.Torch;
using Distill.Torch.Nn;
using Distill.Torch.Serialization;

namespace Distill.Pose.Models.Checkpoints;

/// <summary>
/// Backbone initialisation from a Hugging Face transformers ViT (ViTModel, or ViTForImageClassification with its
/// <c>vit.</c> prefix). Separate query/key/value projections are fused into one qkv projection (stacked along the
/// output dimension in q, k, v order, which is how the fused projection splits its output), the remaining layers are
/// renamed, and the position embedding drops its cls slot (that model adds it to the cls token only, so patches
/// use positions 1..N) and is resized bicubically to the model's patch grid. The cls token, pooler and classifier have
/// no counterpart and are listed as unused.
/// </summary>
public static partial class HuggingFaceVitInit
{
    /// <summary>Prefix of the backbone in ViTForImageClassification checkpoints.</summary>
    public const string VitPrefix = "vit.";

    /// <summary>The LayerNorm epsilon of Hugging Face ViT configurations (ours keeps its own, 1e-6 by default).</summary>
    public const double LayerNormEps = 1e-12;

    private const string PatchWeight = "embeddings.patch_embeddings.projection.weight";
    private const string PositionKey = "embeddings.position_embeddings";

    private static readonly string[] UnusedNames = ["embeddings.cls_token", "embeddings.mask_token"];
    private static readonly string[] UnusedPrefixes = ["pooler.", "classifier."];

    [GeneratedRegex(@"^encoder\.layer\.(\d+)\.(.+)\.([^.]+)$")]
    private static partial Regex LayerKey();

    private static readonly Dictionary<string, string> LayerParts = new(StringComparer.Ordinal)
    {
        ["attention.output.dense"] = "attn.proj",
        ["intermediate.dense"] = "ffn.layers.0.0",
        ["output.dense"] = "ffn.layers.1",
        ["layernorm_before"] = "ln1",
        ["layernorm_after"] = "ln2",
    };

    private static readonly string[] QkvParts = ["attention.attention.query", "attention.attention.key", "attention.attention.value"];

    /// <summary>True when the keys hold a Hugging Face ViT encoder (with or without the <c>vit.</c> prefix).</summary>
    public static bool Matches(IEnumerable<string> keys) => keys.Any(k =>
    {
        var s = k.StartsWith(VitPrefix, StringComparison.Ordinal) ? k[VitPrefix.Length..] : k;
        return s.StartsWith("embeddings.patch_embeddings.", StringComparison.Ordinal) || LayerKey().IsMatch(s);
    });

    /// <summary>
    /// Converts to <c>backbone.*</c> mmpose names. With a <paramref name="target"/>, its patch size must equal the
    /// checkpoint's (patch embeddings do not transfer across patch sizes) and the position embedding is fitted to its
    /// grid; without one the patch part of the position embedding is kept at the checkpoint's grid.
    /// Keys no rule covers keep their names.
    /// </summary>
    public static KeyMapResult ToMmpose(IReadOnlyDictionary<string, Tensor> stateDict, VisionTransformer? target = null,
        string source = "state dict")
    {
        string prefix = stateDict.Keys.Any(k => k.StartsWith(VitPrefix + "embeddings.", StringComparison.Ordinal)
            || k.StartsWith(VitPrefix + "encoder.", StringComparison.Ordinal)) ? VitPrefix : "";
        if (target is not null) CheckPatchSize(stateDict, prefix + PatchWeight, target, source);

        using var builder = new KeyMapBuilder(source);
        // (layer, parameter) -> the checkpoint keys of its query, key and value, fused once the pass is complete.
        var qkv = new SortedDictionary<(int Layer, string Param), string?[]>();
        foreach (var (key, tensor) in stateDict)
        {
            var name = key.StartsWith(prefix, StringComparison.Ordinal) ? key[prefix.Length..] : key;
            // The classifier sits beside the prefix ("classifier.*"), the pooler under it: both reach here as name.
            if (UnusedNames.Contains(name) || UnusedPrefixes.Any(p => name.StartsWith(p, StringComparison.Ordinal)))
            {
                builder.Unused(key);
                continue;
            }
            if (name == PositionKey)
            {
                AddPosition(builder, key, tensor, target);
                continue;
            }
            if (LayerKey().Match(name) is { Success: true } m)
            {
                int layer = int.Parse(m.Groups[1].Value);
                string part = m.Groups[2].Value, param = m.Groups[3].Value;
                int q = Array.IndexOf(QkvParts, part);
                if (q >= 0)
                {
                    if (!qkv.TryGetValue((layer, param), out var parts)) qkv[(layer, param)] = parts = new string?[3];
                    parts[q] = key;
                    continue;
                }
                if (LayerParts.TryGetValue(part, out var ours))
                {
                    builder.Add($"backbone.layers.{layer}.{ours}.{param}", tensor.Alias(), key);
                    continue;
                }
            }
            else if (name.StartsWith("embeddings.patch_embeddings.projection.", StringComparison.Ordinal))
            {
                builder.Add("backbone.patch_embed.projection." + name["embeddings.patch_embeddings.projection.".Length..], tensor.Alias(), key);
                continue;
            }
            else if (name.StartsWith("layernorm.", StringComparison.Ordinal))
            {
                builder.Add("backbone.ln1." + name["layernorm.".Length..], tensor.Alias(), key);
                continue;
            }
            builder.Add(key, tensor.Alias(), key);
        }

        foreach (var ((layer, param), parts) in qkv)
            builder.Add($"backbone.layers.{layer}.attn.qkv.{param}", Fuse(stateDict, parts, prefix, layer, param, source),
                parts.Select(p => p!).ToArray());
        if (qkv.Count > 0)
            builder.Note("query, key and value projections were fused into qkv (concatenated along the output dimension)");
        var padding = target?.NamedModules().Select(m => m.Module).OfType<PatchEmbed>().First().Projection.Padding;
        if (padding is { } pad && pad != (0, 0))
            builder.Note($"the model's patch embedding pads the input by {pad.H}x{pad.W} pixels and the Hugging Face one " +
                "does not: the same weights see patches shifted by the padding, which fine-tuning absorbs");
        var eps = target?.NamedModules().Select(m => m.Module).OfType<LayerNorm>().FirstOrDefault()?.Eps;
        builder.Note($"Hugging Face ViT LayerNorms use eps {LayerNormEps:G}; the model keeps its own" +
            (eps is { } e ? $" ({e:G})" : "") + ", so outputs differ slightly from the original network");
        return builder.Build(CheckpointLayout.HuggingFaceViT);
    }

    private static void CheckPatchSize(IReadOnlyDictionary<string, Tensor> stateDict, string key, VisionTransformer target,
        string source)
    {
        if (!stateDict.TryGetValue(key, out var w)) return;
        var kernel = target.NamedModules().Select(m => m.Module).OfType<PatchEmbed>().First().Projection.KernelSize;
        if (w.Dim != 4 || w.Size(2) != kernel.H || w.Size(3) != kernel.W)
            throw new CheckpointFormatException(source,
                $"'{key}' has shape [{string.Join(", ", w.Shape)}], a {(w.Dim == 4 ? $"{w.Size(2)}x{w.Size(3)}" : "non-2D")} patch, " +
                $"but the model's patch embedding is {kernel.H}x{kernel.W}; patch embeddings cannot be reused across patch sizes");
    }

    private static void AddPosition(KeyMapBuilder builder, string key, Tensor pos, VisionTransformer? target)
    {
        if (pos.Dim != 3 || pos.Size(0) != 1 || pos.Size(1) < 2)
            throw new CheckpointFormatException(builder.Source,
                $"'{key}' has shape [{string.Join(", ", pos.Shape)}]; expected (1, 1 + patches, channels) with a leading cls slot");
        var patches = pos.Narrow(1, 1, pos.Size(1) - 1).DetachFromDisposeScope();
        builder.Note($"'{key}': the cls slot was dropped (it only ever reaches the cls token)");
        if (target is not null)
        {
            Tensor? fitted;
            try
            {
                fitted = PosEmbedFit.Fit(patches, target.PosGrid, key, builder);
            }
            catch
            {
                patches.Dispose();
                throw;
            }
            if (fitted is not null)
            {
                patches.Dispose();
                patches = fitted;
            }
        }
        builder.Add("backbone.pos_embed", patches, key);
    }

    private static Tensor Fuse(IReadOnlyDictionary<string, Tensor> stateDict, string?[] parts, string prefix, int layer,
        string param, string source)
    {
        for (int i = 0; i < 3; i++)
            if (parts[i] is null)
                throw new CheckpointFormatException(source,
                    $"'{prefix}encoder.layer.{layer}.{QkvParts[i]}.{param}' is missing; query, key and value are fused " +
                    $"into one qkv projection and need all three (found '{parts.First(p => p is not null)}')");
        var tensors = parts.Select(p => stateDict[p!]).ToArray();
        var shape = tensors[0].Shape;
        for (int i = 1; i < 3; i++)
            if (!tensors[i].Shape.SequenceEqual(shape))
                throw new CheckpointFormatException(source,
                    $"'{parts[i]}' has shape [{string.Join(", ", tensors[i].Shape)}] but '{parts[0]}' has [{string.Join(", ", shape)}]");
        using var _ = Autograd.NoGrad();
        return torch.Cat(tensors, 0).DetachFromDisposeScope();
    }
}
