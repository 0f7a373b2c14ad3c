using Distill.Pose.Models.Backbones;
using Distill.Pose.Models.Checkpoints;
using Distill.Torch;
using Distill.Torch.Serialization;
using static Distill.Pose.Tests.Checkpoints.TinyVitCheckpoints;

namespace Distill.Pose.Tests.Checkpoints;

public class ViTPoseKeyMapTests
{
    /// <summary>
    /// The correspondence between the two codebases' module names, written out by hand (the ViTPose authors'
    /// Block has norm1, attn.qkv, attn.proj, norm2, mlp.fc1, mlp.fc2; mmpretrain's layer has ln1, attn.qkv,
    /// attn.proj, ln2, ffn.layers.0.0, ffn.layers.1), with the position embedding built from its formula.
    /// </summary>
    private static Dictionary<string, Tensor> RenamedByHand(IReadOnlyDictionary<string, Tensor> original)
    {
        var d = new Dictionary<string, Tensor>
        {
            ["backbone.patch_embed.projection.weight"] = original["backbone.patch_embed.proj.weight"],
            ["backbone.patch_embed.projection.bias"] = original["backbone.patch_embed.proj.bias"],
            ["backbone.ln1.weight"] = original["backbone.last_norm.weight"],
            ["backbone.ln1.bias"] = original["backbone.last_norm.bias"],
        };
        for (int i = 0; i < Layers; i++)
        {
            foreach (var p in new[] { "weight", "bias" })
            {
                d[$"backbone.layers.{i}.ln1.{p}"] = original[$"backbone.blocks.{i}.norm1.{p}"];
                d[$"backbone.layers.{i}.attn.qkv.{p}"] = original[$"backbone.blocks.{i}.attn.qkv.{p}"];
                d[$"backbone.layers.{i}.attn.proj.{p}"] = original[$"backbone.blocks.{i}.attn.proj.{p}"];
                d[$"backbone.layers.{i}.ln2.{p}"] = original[$"backbone.blocks.{i}.norm2.{p}"];
                d[$"backbone.layers.{i}.ffn.layers.0.0.{p}"] = original[$"backbone.blocks.{i}.mlp.fc1.{p}"];
                d[$"backbone.layers.{i}.ffn.layers.1.{p}"] = original[$"backbone.blocks.{i}.mlp.fc2.{p}"];
            }
        }
        foreach (var (k, v) in original)
            if (k.StartsWith("keypoint_head.", StringComparison.Ordinal)) d["head." + k["keypoint_head.".Length..]] = v;
        // pos_embed[:, 1:] + pos_embed[:, :1]
        var pos = original["backbone.pos_embed"];
        d["backbone.pos_embed"] = pos.Narrow(1, 1, pos.Size(1) - 1) + pos.Narrow(1, 0, 1);
        return d;
    }

    [Fact]
    public void ConvertedCheckpointGivesTheOutputsOfTheHandRenamedWeights()
    {
        using var scope = torch.NewDisposeScope();
        var original = Original();
        using var mapped = KeyMaps.ToMmpose(original);
        Assert.Equal(CheckpointLayout.OriginalViTPose, mapped.Layout);
        Assert.Empty(mapped.UnusedKeys);

        using var converted = Model();
        using var reference = Model();
        // Strict: both state dicts name every parameter and buffer of the model, and nothing else.
        converted.LoadStateDict(mapped.StateDict);
        reference.LoadStateDict(RenamedByHand(original));
        converted.Eval();
        reference.Eval();

        using var g = new Generator(3);
        var input = torch.Randn([2, 3, 64, 48], g);
        using var _ = Autograd.InferenceMode();
        var a = converted.Forward(input)["heatmaps"];
        var b = reference.Forward(input)["heatmaps"];
        Assert.Equal([2, TinyVitCheckpoints.Keypoints, 16, 12], a.Shape);
        Assert.Equal(0, MaxDiff(a, b));
        Assert.True(a.Abs().Sum().ItemDouble() > 0);
    }

    [Fact]
    public void PositionEmbeddingAddsTheClsSlotToEveryPatchPosition()
    {
        using var scope = torch.NewDisposeScope();
        // (1, 1 + 2, 2): slot 0 = (10, 20), patches (1, 2) and (3, 4) -> (11, 22) and (13, 24).
        var pos = torch.FromArray(new float[] { 10, 20, 1, 2, 3, 4 }, [1, 3, 2]);
        var converted = ViTPoseKeyMap.ConvertPosEmbed(pos);
        Assert.Equal([1, 2, 2], converted.Shape);
        Assert.Equal(new float[] { 11, 22, 13, 24 }, converted.ToArray<float>());

        var original = Original();
        using var mapped = KeyMaps.ToMmpose(original);
        var stored = original["backbone.pos_embed"].ToArray<float>();
        var result = mapped.StateDict["backbone.pos_embed"].ToArray<float>();
        Assert.Equal(12 * (int)Dims, result.Length);
        for (int i = 0; i < 12; i++)
            for (int c = 0; c < Dims; c++)
                Assert.Equal(stored[c] + stored[(1 + i) * Dims + c], result[i * Dims + c]);
    }

    [Fact]
    public void EveryKeyFollowsItsRule()
    {
        Assert.Equal("backbone.layers.11.ln1.weight", ViTPoseKeyMap.MapKey("backbone.blocks.11.norm1.weight"));
        Assert.Equal("backbone.layers.0.ffn.layers.0.0.bias", ViTPoseKeyMap.MapKey("backbone.blocks.0.mlp.fc1.bias"));
        Assert.Equal("backbone.layers.3.ffn.layers.1.weight", ViTPoseKeyMap.MapKey("backbone.blocks.3.mlp.fc2.weight"));
        Assert.Equal("backbone.layers.2.ln2.bias", ViTPoseKeyMap.MapKey("backbone.blocks.2.norm2.bias"));
        Assert.Equal("backbone.layers.2.attn.proj.bias", ViTPoseKeyMap.MapKey("backbone.blocks.2.attn.proj.bias"));
        Assert.Equal("backbone.patch_embed.projection.weight", ViTPoseKeyMap.MapKey("backbone.patch_embed.proj.weight"));
        Assert.Equal("backbone.ln1.bias", ViTPoseKeyMap.MapKey("backbone.last_norm.bias"));
        Assert.Equal("head.deconv_layers.4.running_var", ViTPoseKeyMap.MapKey("keypoint_head.deconv_layers.4.running_var"));
        Assert.Equal("head.final_layer.weight", ViTPoseKeyMap.MapKey("keypoint_head.final_layer.weight"));
        Assert.Null(ViTPoseKeyMap.MapKey("backbone.blocks.0.mlp.experts.0.weight"));
    }

    [Fact]
    public void KeysWithoutARuleKeepTheirNamesSoLoadingReportsThem()
    {
        using var scope = torch.NewDisposeScope();
        var original = Original();
        original.Add("backbone.blocks.0.mlp.experts.0.weight", torch.Zeros([4, 4]));
        using var mapped = KeyMaps.ToMmpose(original);
        Assert.True(mapped.StateDict.ContainsKey("backbone.blocks.0.mlp.experts.0.weight"));
        using var model = Model();
        var result = model.LoadStateDict(mapped.StateDict, strict: false);
        Assert.Equal(["backbone.blocks.0.mlp.experts.0.weight"], result.UnexpectedKeys);
        Assert.Empty(result.MissingKeys);
    }

    [Fact]
    public void TwoKeysLandingOnOneNameAreRefusedByName()
    {
        using var scope = torch.NewDisposeScope();
        var original = Original();
        original.Add("backbone.ln1.weight", torch.Ones([Dims]));
        var ex = Assert.Throws<CheckpointFormatException>(() => KeyMaps.ToMmpose(original, source: "ckpt.pth"));
        Assert.Contains("ckpt.pth", ex.Message);
        Assert.Contains("'backbone.last_norm.weight'", ex.Message);
        Assert.Contains("'backbone.ln1.weight'", ex.Message);
    }

    [Fact]
    public void MalformedPositionEmbeddingIsNamed()
    {
        using var scope = torch.NewDisposeScope();
        var original = Original();
        original["backbone.pos_embed"] = torch.Zeros([13, Dims]);
        var ex = Assert.Throws<CheckpointFormatException>(() => KeyMaps.ToMmpose(original, source: "vitpose.pth"));
        Assert.Contains("'backbone.pos_embed' has shape [13, 32]", ex.Message);
    }

    [Fact]
    public void InputTensorsAreNeitherDisposedNorChanged()
    {
        using var scope = torch.NewDisposeScope();
        var original = Original();
        var before = original.ToDictionary(kv => kv.Key, kv => kv.Value.Clone());
        using (var mapped = KeyMaps.ToMmpose(original, Backbone(128, 96)))
        {
            Assert.Equal(original.Count, mapped.StateDict.Count);
        }
        foreach (var (k, t) in original)
        {
            Assert.False(t.IsDisposed, k);
            Assert.Equal(0, MaxDiff(before[k], t));
        }
    }

    [Fact]
    public void PositionEmbeddingIsResizedToALargerModelGrid()
    {
        // A checkpoint trained at 64x48 (4x3 patches) loaded into a 128x96 model (8x6 patches): the stored grid is
        // inferred from 12 positions and the model's 4:3 aspect ratio.
        using var scope = torch.NewDisposeScope();
        var original = Original();
        using var backbone = Backbone(128, 96);
        Assert.Equal((8L, 6L), backbone.PosGrid);
        using var mapped = KeyMaps.ToMmpose(original, backbone);
        var pos = original["backbone.pos_embed"];
        var expected = VisionTransformer.ResizePosEmbed(pos.Narrow(1, 1, 12) + pos.Narrow(1, 0, 1), (4, 3), (8, 6));
        Assert.Equal(0, MaxDiff(expected, mapped.StateDict["backbone.pos_embed"]));
        Assert.Contains(mapped.Notes, n => n.Contains("4x3") && n.Contains("8x6"));
    }
}
