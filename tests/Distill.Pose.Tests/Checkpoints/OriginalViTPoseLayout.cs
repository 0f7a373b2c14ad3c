using Distill.Torch;
using Distill.Torch.Serialization;

namespace Distill.TestSupport.Checkpoints;

/// <summary>
/// Rewrites a ViTPose state dict from mmpose 1.x names into the layout of the original ViTPose release, written out
/// by hand from that release's module names: its ViT has patch_embed.proj, blocks.N.{norm1, attn.qkv, attn.proj,
/// norm2, mlp.fc1, mlp.fc2} and last_norm, its head is keypoint_head.{deconv_layers, final_layer}, and its position
/// embedding has a leading cls slot that the forward pass adds to every patch position.
/// </summary>
/// <remarks>Shared (as a linked file) by the Pose, Training and command tests.</remarks>
internal static class OriginalViTPoseLayout
{
    private static readonly (string Mmpose, string Original)[] BlockParts =
    [
        ("ln1", "norm1"), ("attn.qkv", "attn.qkv"), ("attn.proj", "attn.proj"), ("ln2", "norm2"),
        ("ffn.layers.0.0", "mlp.fc1"), ("ffn.layers.1", "mlp.fc2"),
    ];

    private static string Rename(string key)
    {
        if (key.StartsWith("head.", StringComparison.Ordinal)) return "keypoint_head." + key["head.".Length..];
        if (key.StartsWith("backbone.patch_embed.projection.", StringComparison.Ordinal))
            return "backbone.patch_embed.proj." + key["backbone.patch_embed.projection.".Length..];
        if (key.StartsWith("backbone.ln1.", StringComparison.Ordinal)) return "backbone.last_norm." + key["backbone.ln1.".Length..];
        const string layers = "backbone.layers.";
        if (key.StartsWith(layers, StringComparison.Ordinal))
        {
            var rest = key[layers.Length..];
            int dot = rest.IndexOf('.');
            string index = rest[..dot], part = rest[(dot + 1)..];
            foreach (var (m, o) in BlockParts)
                if (part.StartsWith(m + ".", StringComparison.Ordinal))
                    return $"backbone.blocks.{index}.{o}.{part[(m.Length + 1)..]}";
        }
        if (key == "backbone.pos_embed") return key;
        throw new ArgumentException($"no original-layout name for '{key}'");
    }

    /// <summary>
    /// The same weights under the original names. The cls slot is a random vector r and the patch positions are
    /// stored as pos - r, so only a loader that adds the slot back recovers the network.
    /// </summary>
    public static OrderedDictionary<string, Tensor> FromMmpose(IReadOnlyDictionary<string, Tensor> mmpose, ulong seed = 5)
    {
        var result = new OrderedDictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (key, t) in mmpose)
        {
            if (key != "backbone.pos_embed")
            {
                result.Add(Rename(key), t.Clone());
                continue;
            }
            using var g = new Generator(seed);
            using var cls = torch.Randn([1, 1, t.Size(2)], g);
            using var patches = t - cls;
            result.Add(key, torch.Cat([cls, patches], 1));
        }
        return result;
    }

    /// <summary>Writes <paramref name="mmposeCheckpoint"/> rewritten into the original layout as a safetensors file.</summary>
    public static void Write(string mmposeCheckpoint, string path)
    {
        var sd = StateDictLoader.LoadStateDict(mmposeCheckpoint);
        try
        {
            var original = FromMmpose(sd);
            SafeTensors.Save(path, original);
            foreach (var t in original.Values) t.Dispose();
        }
        finally
        {
            sd.DisposeTensors();
        }
    }
}
