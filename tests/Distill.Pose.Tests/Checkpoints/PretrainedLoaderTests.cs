using System.Text.Json;
using Distill.Pose.Models.Backbones;
using Distill.Pose.Models.Checkpoints;
using Distill.Pose.Tests.Models;
using Distill.TestSupport;
using Distill.Torch;
using Distill.Torch.Serialization;
using Xunit.Abstractions;
using static Distill.Pose.Tests.Checkpoints.TinyVitCheckpoints;

namespace Distill.Pose.Tests.Checkpoints;

public class PretrainedLoaderTests(ITestOutputHelper output)
{
    [Fact]
    public void EachLayoutIsDetected()
    {
        // Real mmpose checkpoints (shared fixtures): the RTMPose file's header and the ViT fixture's key list.
        var rtm = SafeTensors.ReadHeader(SharedData.Fixture("rtmpose-t_coco_256x192", "rtmpose-t_coco_256x192.safetensors"));
        Assert.Equal(CheckpointLayout.Mmpose, KeyMaps.Detect(rtm.Tensors.Select(t => t.Name)));
        using var json = JsonDocument.Parse(File.ReadAllText(SharedData.Fixture("vit-tiny4_coco_256x192", "fixture.json")));
        var vitKeys = json.RootElement.GetProperty("state_dict").EnumerateArray().Select(e => e[0].GetString()!).ToList();
        Assert.Equal(CheckpointLayout.Mmpose, KeyMaps.Detect(vitKeys));

        using var scope = torch.NewDisposeScope();
        Assert.Equal(CheckpointLayout.OriginalViTPose, KeyMaps.Detect(Original().Keys));
        Assert.Equal(CheckpointLayout.HuggingFaceViT, KeyMaps.Detect(HuggingFace("vit.").Keys));
        Assert.Equal(CheckpointLayout.HuggingFaceViT, KeyMaps.Detect(HuggingFace("").Keys));
        Assert.Equal(CheckpointLayout.Unknown, KeyMaps.Detect(["conv1.weight", "fc.bias"]));
        Assert.Equal(CheckpointLayout.Unknown, KeyMaps.Detect([]));
    }

    [Fact]
    public void UnknownLayoutIsAnErrorNamingTheFileAndSomeKeys()
    {
        using var dir = new TempDir();
        var path = dir.File("resnet.safetensors");
        using (var scope = torch.NewDisposeScope())
            SafeTensors.Save(path, [new("conv1.weight", torch.Zeros([4, 3, 3, 3])), new("bn1.running_mean", torch.Zeros([4])),
                new("fc.bias", torch.Zeros([10]))]);
        using var model = Model();
        var ex = Assert.Throws<CheckpointFormatException>(() => PretrainedLoader.LoadBackbone(model, path));
        Assert.Equal(path, ex.FilePath);
        Assert.Contains("unrecognised checkpoint layout", ex.Message);
        Assert.Contains("'conv1.weight', 'bn1.running_mean', 'fc.bias'", ex.Message);
    }

    [Fact]
    public void TrainingCheckpointInitialisesFromItsStudentAndAPrefixPicksTheTeacher()
    {
        // A distillation run's checkpoint: student.*, its EMA copy ema.student.* and a teacher.*, each with its own weights.
        using var dir = new TempDir();
        var path = dir.File("distill.safetensors");
        using var student = Model();
        using var ema = Model();
        using var teacher = Model();
        using (var scope = torch.NewDisposeScope())
        {
            var entries = student.StateDict().Select(kv => new KeyValuePair<string, Tensor>("student." + kv.Key, kv.Value))
                .Concat(ema.StateDict().Select(kv => new KeyValuePair<string, Tensor>("ema.student." + kv.Key, kv.Value)))
                .Concat(teacher.StateDict().Select(kv => new KeyValuePair<string, Tensor>("teacher." + kv.Key, kv.Value)));
            SafeTensors.Save(path, entries);
        }
        var key = "backbone.layers.0.ffn.layers.1.weight";
        Assert.NotEqual(0, MaxDiff(ema.StateDict().ToDictionary()[key], teacher.StateDict().ToDictionary()[key]));

        // Without options: the EMA student, as evaluation and export read the same file.
        using var model = Model();
        var report = PretrainedLoader.LoadBackbone(model, path);
        Assert.Equal(CheckpointLayout.Mmpose, report.Layout);
        Assert.True(report.BackboneComplete, report.ToString());
        var want = ema.Backbone.StateDict().ToDictionary();
        foreach (var (k, t) in model.Backbone.StateDict()) Assert.Equal(0, MaxDiff(want[k], t));

        report = PretrainedLoader.LoadBackbone(model, path, new StateDictLoadOptions { Prefix = "teacher." });
        Assert.True(report.BackboneComplete, report.ToString());
        want = teacher.Backbone.StateDict().ToDictionary();
        foreach (var (k, t) in model.Backbone.StateDict()) Assert.Equal(0, MaxDiff(want[k], t));
    }

    [Fact]
    public void TeacherOnlyCheckpointErrorSuggestsAPrefix()
    {
        using var dir = new TempDir();
        var path = dir.File("teacher.safetensors");
        using var teacher = Model();
        using (var scope = torch.NewDisposeScope())
            SafeTensors.Save(path, teacher.StateDict().Select(kv => new KeyValuePair<string, Tensor>("teacher." + kv.Key, kv.Value)));
        using var model = Model();
        var ex = Assert.Throws<CheckpointFormatException>(() => PretrainedLoader.LoadBackbone(model, path));
        Assert.Contains("'teacher.'", ex.Message);
    }

    [Fact]
    public void BackboneOfARealMmposeCheckpointMatchesMmposeAndTheHeadIsLeftAlone()
    {
        var dir = SharedData.Fixture("vit-tiny4_coco_256x192");
        using var model = FixtureParityTests.VitTiny();
        using var scope = torch.NewDisposeScope();
        var headBefore = model.Head.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Clone());
        var report = PretrainedLoader.LoadBackbone(model, Path.Combine(dir, "vit-tiny4_coco_256x192.pth"));
        output.WriteLine(report.ToString());

        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "fixture.json")));
        var fileKeys = json.RootElement.GetProperty("state_dict").EnumerateArray().Select(e => e[0].GetString()!).ToList();
        Assert.Equal(CheckpointLayout.Mmpose, report.Layout);
        Assert.True(report.BackboneComplete, report.ToString());
        Assert.Equal(fileKeys.Where(k => k.StartsWith("backbone.")).Order(), report.LoadedKeys.Order());
        Assert.Equal(fileKeys.Where(k => k.StartsWith("head.")).Order(), report.IgnoredKeys.Order());
        Assert.Equal(model.StateDict().Select(kv => kv.Key).Where(k => k.StartsWith("head.")).Order(), report.MissingKeys.Order());
        Assert.Empty(report.MissingBackboneKeys);
        foreach (var (k, t) in model.Head.StateDict()) Assert.Equal(0, MaxDiff(headBefore[k], t));

        model.Eval();
        using var _ = Autograd.InferenceMode();
        var input = FixtureParityTests.ReadBin(Path.Combine(dir, "input.bin"), [2, 3, 256, 192]);
        var feats = model.Backbone.Forward(input);
        FixtureParityTests.AssertClose(FixtureParityTests.ReadBin(Path.Combine(dir, "backbone_out.bin"), [2, 192, 16, 12]),
            feats[0], 1e-4, 1e-4, "backbone");
    }

    [Fact]
    public void OriginalViTPoseCheckpointLoadsTheBackboneAndReportsTheMissingHead()
    {
        using var dir = new TempDir();
        var path = dir.File("vitpose.safetensors");
        using var scope = torch.NewDisposeScope();
        var original = Original();
        SafeTensors.Save(path, original);
        using var model = Model();
        var report = PretrainedLoader.LoadBackbone(model, path);
        output.WriteLine(report.ToString());

        Assert.Equal(CheckpointLayout.OriginalViTPose, report.Layout);
        Assert.True(report.BackboneComplete, report.ToString());
        var headKeys = Head(model).Keys.ToList();
        Assert.Equal(headKeys.Order(), report.MissingKeys.Order());
        Assert.Contains("head.final_layer.weight", report.MissingKeys);
        // The file's own head keys are named as ignored, under the names the file uses.
        Assert.Equal(original.Keys.Where(k => k.StartsWith("keypoint_head.")).Order(), report.IgnoredKeys.Order());
        var text = report.ToString();
        Assert.Contains("model keys outside the backbone (not loaded) (14):", text);
        Assert.Contains("    head.deconv_layers.1.running_var", text);
        Assert.Contains("keypoint_head.final_layer.bias", text);

        var sd = model.StateDict().ToDictionary();
        Assert.Equal(0, MaxDiff(original["backbone.blocks.1.mlp.fc2.weight"], sd["backbone.layers.1.ffn.layers.1.weight"]));
        Assert.Equal(0, MaxDiff(original["backbone.last_norm.bias"], sd["backbone.ln1.bias"]));
    }

    [Fact]
    public void BareBackboneLoadsWithoutItsPrefixAndShapeMismatchesAreReported()
    {
        using var dir = new TempDir();
        var path = dir.File("vitpose.safetensors");
        using (var scope = torch.NewDisposeScope())
        {
            var original = Original();
            // A wider final norm than the model's: reported by name with both shapes, not loaded.
            original["backbone.last_norm.weight"] = torch.Ones([48]);
            SafeTensors.Save(path, original);
        }
        using var backbone = Backbone();
        var report = PretrainedLoader.LoadBackbone(backbone, path);
        var mismatch = Assert.Single(report.ShapeMismatches);
        Assert.Equal("ln1.weight", mismatch.Key);
        Assert.Equal([Dims], mismatch.Expected);
        Assert.Equal([48L], mismatch.Actual);
        Assert.Equal(["ln1.weight"], report.MissingBackboneKeys.Concat(report.ShapeMismatches.Select(m => m.Key)));
        Assert.DoesNotContain("ln1.weight", report.LoadedKeys);
        Assert.Equal(backbone.StateDict().Count - 1, report.LoadedKeys.Count);
        Assert.False(report.BackboneComplete);
        Assert.Contains("ln1.weight: model [32], checkpoint [48]", report.ToString());
        Assert.Contains("INCOMPLETE", report.ToString());
    }

    [Fact]
    public void MmposePositionEmbeddingWithAClsSlotOrAnotherGridIsFitted()
    {
        using var scope = torch.NewDisposeScope();
        using var backbone = Backbone();
        using var g = new Generator(5);

        // 1 + 12 positions for a 4x3 grid: the cls slot is dropped, as mmpretrain does for a model without cls token.
        var withCls = torch.Randn([1, 13, Dims], g);
        using (var mapped = KeyMaps.ToMmpose(new Dictionary<string, Tensor> { ["backbone.pos_embed"] = withCls }, backbone))
            Assert.Equal(0, MaxDiff(withCls.Narrow(1, 1, 12), mapped.StateDict["backbone.pos_embed"]));

        // 1 + 14 * 14 positions (ImageNet pre-training at 224): dropped, then resized from 14x14.
        var imagenet = torch.Randn([1, 197, Dims], g);
        using (var mapped = KeyMaps.ToMmpose(new Dictionary<string, Tensor> { ["backbone.pos_embed"] = imagenet }, backbone))
        {
            var expected = VisionTransformer.ResizePosEmbed(imagenet.Narrow(1, 1, 196), (14, 14), (4, 3));
            Assert.Equal(0, MaxDiff(expected, mapped.StateDict["backbone.pos_embed"]));
        }

        // 7 positions form no grid: kept as stored (loading then reports the shape), with a note saying why.
        var odd = torch.Randn([1, 7, Dims], g);
        using (var mapped = KeyMaps.ToMmpose(new Dictionary<string, Tensor> { ["backbone.pos_embed"] = odd }, backbone))
        {
            Assert.Equal([1, 7, Dims], mapped.StateDict["backbone.pos_embed"].Shape);
            Assert.Contains(mapped.Notes, n => n.Contains("7 positions"));
        }
    }

    [Fact]
    public void CheckpointWithoutBackboneWeightsIsAnError()
    {
        using var dir = new TempDir();
        var path = dir.File("head.safetensors");
        using (var scope = torch.NewDisposeScope())
            SafeTensors.Save(path, [new("head.final_layer.weight", torch.Zeros([5, 16, 1, 1]))]);
        using var model = Model();
        var ex = Assert.Throws<CheckpointFormatException>(() => PretrainedLoader.LoadBackbone(model, path));
        Assert.Contains("no backbone.* weights", ex.Message);
        Assert.Contains("head.final_layer.weight", ex.Message);
    }
}
