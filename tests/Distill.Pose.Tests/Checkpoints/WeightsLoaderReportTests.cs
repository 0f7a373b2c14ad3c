using Distill.Pose.Models.Checkpoints;
using Distill.Pose.Tests.Datasets;
using Distill.Torch.Serialization;

namespace Distill.Pose.Tests.Checkpoints;

/// <summary>Loading a checkpoint of another layout or size into a model fails with a short report and a hint.</summary>
public sealed class WeightsLoaderReportTests
{
    [Fact]
    public void OriginalViTPoseCheckpointLoadsThroughItsKeyMap()
    {
        using var tmp = new TempFiles();
        var original = TinyVitCheckpoints.Original();
        var path = Path.Combine(tmp.Dir, "vitpose_original.safetensors");
        SafeTensors.Save(path, original);
        foreach (var t in original.Values) t.Dispose();

        using var model = TinyVitCheckpoints.Model();
        var report = WeightsLoader.LoadInto(model, path);
        Assert.Equal(CheckpointLayout.OriginalViTPose, report.Layout);
        Assert.Equal(model.StateDict().Count(), report.Loaded);
    }

    [Fact]
    public void HuggingFaceCheckpointLoadedAsWeightsGetsALayoutHint()
    {
        using var tmp = new TempFiles();
        var hf = TinyVitCheckpoints.HuggingFace("vit.");
        var path = Path.Combine(tmp.Dir, "hf.safetensors");
        SafeTensors.Save(path, hf);
        foreach (var t in hf.Values) t.Dispose();

        using var model = TinyVitCheckpoints.Model();
        var e = Assert.Throws<InvalidDataException>(() => WeightsLoader.LoadInto(model, path));
        Assert.StartsWith(path + ": cannot load state dict", e.Message);
        Assert.Contains("this looks like a Hugging Face ViT checkpoint", e.Message);
        Assert.Contains("model.backbone_checkpoint", e.Message);
        // A few keys per kind, then counts: nowhere near one line per key.
        Assert.Matches(@"unexpected keys \(\d+\): ([^,]+, ){5}and \d+ more", e.Message);
        Assert.True(e.Message.Length < 1500, $"{e.Message.Length} characters");
    }
}
