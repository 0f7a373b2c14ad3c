using Distill.Pose.Models.Backbones;
using Distill.Pose.Models.Checkpoints;
using Distill.Torch;
using Distill.Torch.Serialization;
using static Distill.Pose.Tests.Checkpoints.TinyVitCheckpoints;

namespace Distill.Pose.Tests.Checkpoints;

public class HuggingFaceVitInitTests
{
    [Theory]
    [InlineData("vit.")]
    [InlineData("")]
    public void BackboneLoadsFusedQkvResizedPositionsAndRenamedLayers(string prefix)
    {
        using var dir = new TempDir();
        var path = dir.File("model.safetensors");
        using var scope = torch.NewDisposeScope();
        var hf = HuggingFace(prefix);
        SafeTensors.Save(path, hf);

        using var model = Model();
        var headBefore = Head(model).ToDictionary(kv => kv.Key, kv => kv.Value.Clone());
        var report = PretrainedLoader.LoadBackbone(model, path);

        Assert.Equal(CheckpointLayout.HuggingFaceViT, report.Layout);
        Assert.True(report.BackboneComplete, report.ToString());
        Assert.Empty(report.UnexpectedKeys);
        Assert.Empty(report.ShapeMismatches);
        // Backbone: pos_embed, patch conv (2), 2 x 12 layer tensors, final norm (2).
        Assert.Equal(1 + 2 + 2 * 12 + 2, report.LoadedKeys.Count);
        var unused = new List<string> { prefix + "embeddings.cls_token", prefix + "pooler.dense.weight", prefix + "pooler.dense.bias" };
        if (prefix.Length > 0) unused.AddRange(["classifier.weight", "classifier.bias"]);
        Assert.Equal(unused.Order(), report.IgnoredKeys.Order());
        Assert.Equal(headBefore.Keys.Order(), report.MissingKeys.Order());
        foreach (var (k, t) in Head(model)) Assert.Equal(0, MaxDiff(headBefore[k], t));
        Assert.Contains(report.Notes, n => n.Contains("1E-12") && n.Contains("1E-06"));
        Assert.Contains(report.Notes, n => n.Contains("pads the input by 2x2 pixels"));

        var sd = model.StateDict().ToDictionary();
        for (int i = 0; i < Layers; i++)
        {
            string l = $"{prefix}encoder.layer.{i}.attention.attention.";
            foreach (var p in new[] { "weight", "bias" })
            {
                var q = hf[$"{l}query.{p}"];
                var k = hf[$"{l}key.{p}"];
                var v = hf[$"{l}value.{p}"];
                var fused = sd[$"backbone.layers.{i}.attn.qkv.{p}"];
                Assert.Equal(0, MaxDiff(torch.Cat([q, k, v], 0), fused));
                // Row 32 + 3 of the fused projection is row 3 of the key projection (rows 0-31 are the query's).
                Assert.Equal(0, MaxDiff(k.Select(0, 3), fused.Select(0, Dims + 3)));
            }
        }
        // Patches use positions 1..25 of the 5x5 pre-training grid, resized to the model's 4x3 grid.
        var pos = hf[prefix + "embeddings.position_embeddings"];
        var expected = VisionTransformer.ResizePosEmbed(pos.Narrow(1, 1, 25), (5, 5), (4, 3));
        Assert.Equal(0, MaxDiff(expected, sd["backbone.pos_embed"]));
        Assert.Contains(report.Notes, n => n.Contains("5x5") && n.Contains("4x3"));
        Assert.Contains("HuggingFaceViT", report.ToString());
    }

    [Fact]
    public void LoadedBackboneMatchesAModelGivenTheHandRenamedWeights()
    {
        using var dir = new TempDir();
        var path = dir.File("vit.safetensors");
        using var scope = torch.NewDisposeScope();
        var hf = HuggingFace("vit.");
        SafeTensors.Save(path, hf);
        using var loaded = Model();
        PretrainedLoader.LoadBackbone(loaded, path);

        // Hugging Face ViTLayer: layernorm_before, attention (query/key/value, output.dense), layernorm_after,
        // intermediate.dense, output.dense; ViTModel ends with layernorm.
        var d = new Dictionary<string, Tensor>
        {
            ["backbone.patch_embed.projection.weight"] = hf["vit.embeddings.patch_embeddings.projection.weight"],
            ["backbone.patch_embed.projection.bias"] = hf["vit.embeddings.patch_embeddings.projection.bias"],
            ["backbone.ln1.weight"] = hf["vit.layernorm.weight"],
            ["backbone.ln1.bias"] = hf["vit.layernorm.bias"],
            ["backbone.pos_embed"] = VisionTransformer.ResizePosEmbed(hf["vit.embeddings.position_embeddings"].Narrow(1, 1, 25), (5, 5), (4, 3)),
        };
        for (int i = 0; i < Layers; i++)
            foreach (var p in new[] { "weight", "bias" })
            {
                string l = $"vit.encoder.layer.{i}.", o = $"backbone.layers.{i}.";
                d[$"{o}ln1.{p}"] = hf[$"{l}layernorm_before.{p}"];
                d[$"{o}attn.qkv.{p}"] = torch.Cat([hf[$"{l}attention.attention.query.{p}"], hf[$"{l}attention.attention.key.{p}"],
                    hf[$"{l}attention.attention.value.{p}"]], 0);
                d[$"{o}attn.proj.{p}"] = hf[$"{l}attention.output.dense.{p}"];
                d[$"{o}ln2.{p}"] = hf[$"{l}layernorm_after.{p}"];
                d[$"{o}ffn.layers.0.0.{p}"] = hf[$"{l}intermediate.dense.{p}"];
                d[$"{o}ffn.layers.1.{p}"] = hf[$"{l}output.dense.{p}"];
            }
        foreach (var (k, v) in Head(loaded)) d[k] = v;
        using var reference = Model();
        reference.LoadStateDict(d);

        loaded.Eval();
        reference.Eval();
        using var g = new Generator(4);
        var input = torch.Randn([2, 3, 64, 48], g);
        using var _ = Autograd.InferenceMode();
        Assert.Equal(0, MaxDiff(reference.Forward(input)["heatmaps"], loaded.Forward(input)["heatmaps"]));
    }

    [Fact]
    public void PatchSizeOtherThanTheModelsIsAnError()
    {
        using var dir = new TempDir();
        var path = dir.File("vit14.safetensors");
        using (var scope = torch.NewDisposeScope()) SafeTensors.Save(path, HuggingFace("vit.", patch: 14));
        using var model = Model();
        var ex = Assert.Throws<CheckpointFormatException>(() => PretrainedLoader.LoadBackbone(model, path));
        Assert.Contains(path, ex.Message);
        Assert.Contains("'vit.embeddings.patch_embeddings.projection.weight' has shape [32, 3, 14, 14]", ex.Message);
        Assert.Contains("16x16", ex.Message);
    }

    [Fact]
    public void MissingValueProjectionIsNamed()
    {
        using var scope = torch.NewDisposeScope();
        var hf = HuggingFace("vit.");
        hf.Remove("vit.encoder.layer.1.attention.attention.value.weight");
        using var backbone = Backbone();
        var ex = Assert.Throws<CheckpointFormatException>(() => KeyMaps.ToMmpose(hf, backbone, "hf.safetensors"));
        Assert.Contains("'vit.encoder.layer.1.attention.attention.value.weight' is missing", ex.Message);
        Assert.StartsWith("hf.safetensors: ", ex.Message);
    }

    [Fact]
    public void HuggingFaceCheckpointNeedsAVisionTransformer()
    {
        using var dir = new TempDir();
        var path = dir.File("vit.safetensors");
        using (var scope = torch.NewDisposeScope()) SafeTensors.Save(path, HuggingFace("vit."));
        using var cspnext = new CSPNeXt(0.167, 0.375);
        var ex = Assert.Throws<CheckpointFormatException>(() => PretrainedLoader.LoadBackbone(cspnext, path));
        Assert.Contains("CSPNeXt", ex.Message);
    }
}
