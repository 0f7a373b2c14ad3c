using Distill.Pose.Codecs;
using Distill.Pose.Models;
using Distill.Pose.Models.Backbones;
using Distill.Pose.Models.Heads;
using Distill.Torch;

namespace Distill.Pose.Tests.Checkpoints;

/// <summary>
/// A tiny ViTPose (embed 32, 2 layers, 2 heads, ffn 64, input 64x48, patch 16 with padding 2, so a 4x3 patch grid)
/// and random checkpoints for it written in other projects' layouts.
/// </summary>
internal static class TinyVitCheckpoints
{
    public const long Dims = 32, Ffn = 64, Keypoints = 5;
    public const int Layers = 2;

    public static VisionTransformer Backbone(int height = 64, int width = 48) => new(Dims, Layers, 2, Ffn, (width, height));

    public static TopdownPoseEstimator Model(int height = 64, int width = 48)
    {
        var head = new HeatmapHead(Dims, Keypoints, deconvOutChannels: [16, 16]);
        var codec = new UDPHeatmap((width, height), (width / 4, height / 4));
        return new TopdownPoseEstimator(Backbone(height, width), head, codec, [0, 2, 1, 4, 3]);
    }

    /// <summary>A random value of the given kind, so a parameter loaded into the wrong slot changes the output.</summary>
    private static Tensor Random(Generator g, long[] shape, string name)
    {
        if (name.EndsWith("num_batches_tracked", StringComparison.Ordinal)) return torch.Full([], 7, DType.Int64);
        using var r = torch.Randn(shape, g);
        if (name.EndsWith("running_var", StringComparison.Ordinal))
        {
            using var u = torch.Rand(shape, g);
            return u + 0.5;
        }
        // Norm scales around 1, everything else small.
        bool normScale = name.EndsWith(".weight", StringComparison.Ordinal) && shape.Length == 1;
        return normScale ? r * 0.2 + 1.0 : r * 0.1;
    }

    private static OrderedDictionary<string, Tensor> Build(IEnumerable<(string Name, long[] Shape)> entries, ulong seed)
    {
        using var g = new Generator(seed);
        var d = new OrderedDictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, shape) in entries) d.Add(name, Random(g, shape, name));
        return d;
    }

    /// <summary>The head as the ViTPose authors' TopdownHeatmapSimpleHead names it (deconv, BN, ReLU per block).</summary>
    private static IEnumerable<(string, long[])> OriginalHead()
    {
        string[] bn = ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"];
        yield return ("keypoint_head.deconv_layers.0.weight", [Dims, 16, 4, 4]);
        foreach (var p in bn) yield return ($"keypoint_head.deconv_layers.1.{p}", p == "num_batches_tracked" ? [] : [16]);
        yield return ("keypoint_head.deconv_layers.3.weight", [16, 16, 4, 4]);
        foreach (var p in bn) yield return ($"keypoint_head.deconv_layers.4.{p}", p == "num_batches_tracked" ? [] : [16]);
        yield return ("keypoint_head.final_layer.weight", [Keypoints, 16, 1, 1]);
        yield return ("keypoint_head.final_layer.bias", [Keypoints]);
    }

    /// <summary>The ViTPose authors' layout: pos_embed with a cls slot (1, 1 + 12, C), blocks.N, last_norm.</summary>
    public static OrderedDictionary<string, Tensor> Original(ulong seed = 1, long positions = 12)
    {
        var entries = new List<(string, long[])>
        {
            ("backbone.pos_embed", [1, 1 + positions, Dims]),
            ("backbone.patch_embed.proj.weight", [Dims, 3, 16, 16]),
            ("backbone.patch_embed.proj.bias", [Dims]),
        };
        for (int i = 0; i < Layers; i++)
        {
            string b = $"backbone.blocks.{i}.";
            entries.Add((b + "norm1.weight", [Dims]));
            entries.Add((b + "norm1.bias", [Dims]));
            entries.Add((b + "attn.qkv.weight", [3 * Dims, Dims]));
            entries.Add((b + "attn.qkv.bias", [3 * Dims]));
            entries.Add((b + "attn.proj.weight", [Dims, Dims]));
            entries.Add((b + "attn.proj.bias", [Dims]));
            entries.Add((b + "norm2.weight", [Dims]));
            entries.Add((b + "norm2.bias", [Dims]));
            entries.Add((b + "mlp.fc1.weight", [Ffn, Dims]));
            entries.Add((b + "mlp.fc1.bias", [Ffn]));
            entries.Add((b + "mlp.fc2.weight", [Dims, Ffn]));
            entries.Add((b + "mlp.fc2.bias", [Dims]));
        }
        entries.Add(("backbone.last_norm.weight", [Dims]));
        entries.Add(("backbone.last_norm.bias", [Dims]));
        entries.AddRange(OriginalHead());
        return Build(entries, seed);
    }

    /// <summary>
    /// A Hugging Face ViT pre-trained on a 5x5 patch grid (80x80 input), with <paramref name="prefix"/> "vit." as
    /// ViTForImageClassification saves it (then with a 10-class classifier beside the prefix) or "" as ViTModel does.
    /// </summary>
    public static OrderedDictionary<string, Tensor> HuggingFace(string prefix, ulong seed = 2, long patch = 16)
    {
        var entries = new List<(string, long[])>
        {
            (prefix + "embeddings.cls_token", [1, 1, Dims]),
            (prefix + "embeddings.position_embeddings", [1, 26, Dims]),
            (prefix + "embeddings.patch_embeddings.projection.weight", [Dims, 3, patch, patch]),
            (prefix + "embeddings.patch_embeddings.projection.bias", [Dims]),
        };
        for (int i = 0; i < Layers; i++)
        {
            string l = $"{prefix}encoder.layer.{i}.";
            foreach (var part in new[] { "query", "key", "value" })
            {
                entries.Add(($"{l}attention.attention.{part}.weight", [Dims, Dims]));
                entries.Add(($"{l}attention.attention.{part}.bias", [Dims]));
            }
            entries.Add((l + "attention.output.dense.weight", [Dims, Dims]));
            entries.Add((l + "attention.output.dense.bias", [Dims]));
            entries.Add((l + "intermediate.dense.weight", [Ffn, Dims]));
            entries.Add((l + "intermediate.dense.bias", [Ffn]));
            entries.Add((l + "output.dense.weight", [Dims, Ffn]));
            entries.Add((l + "output.dense.bias", [Dims]));
            entries.Add((l + "layernorm_before.weight", [Dims]));
            entries.Add((l + "layernorm_before.bias", [Dims]));
            entries.Add((l + "layernorm_after.weight", [Dims]));
            entries.Add((l + "layernorm_after.bias", [Dims]));
        }
        entries.Add((prefix + "layernorm.weight", [Dims]));
        entries.Add((prefix + "layernorm.bias", [Dims]));
        entries.Add((prefix + "pooler.dense.weight", [Dims, Dims]));
        entries.Add((prefix + "pooler.dense.bias", [Dims]));
        if (prefix.Length > 0)
        {
            entries.Add(("classifier.weight", [10, Dims]));
            entries.Add(("classifier.bias", [10]));
        }
        return Build(entries, seed);
    }

    /// <summary>A fresh temporary folder, deleted on dispose.</summary>
    public sealed class TempDir : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("distill-keymaps-").FullName;

        public string File(string name) => System.IO.Path.Combine(Path, name);

        public void Dispose()
        {
            try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
        }
    }

    public static Dictionary<string, Tensor> Head(TopdownPoseEstimator model) =>
        model.StateDict().Where(kv => kv.Key.StartsWith("head.", StringComparison.Ordinal)).ToDictionary();

    /// <summary>Largest absolute difference between two tensors (0 means bitwise-equal values).</summary>
    public static double MaxDiff(Tensor a, Tensor b)
    {
        Assert.Equal(a.Shape, b.Shape);
        using var scope = torch.NewDisposeScope();
        var d = (a.To(DType.Float64) - b.To(DType.Float64)).Abs();
        return d.NumEl == 0 ? 0 : d.Max().ItemDouble();
    }
}
