using Distill.Pose.Models.Checkpoints;
using Distill.Pose.Tests.Models;
using Distill.TestSupport;
using Distill.TestSupport.Checkpoints;
using Distill.Torch;

namespace Distill.Pose.Tests.Checkpoints;

/// <summary>
/// A checkpoint of the original ViTPose release loads as a whole model: the shared ViT fixture (mmpose's layout,
/// with mmpose's own heatmaps for its input) rewritten into the original layout gives the same heatmaps.
/// </summary>
public sealed class OriginalViTPoseCheckpointTests
{
    private const string Fixture = "vit-tiny4_coco_256x192";

    [Fact]
    public void OriginalLayoutGivesTheHeatmapsOfMmposesLayout()
    {
        var dir = SharedData.Fixture(Fixture);
        using var tmp = new TinyVitCheckpoints.TempDir();
        var original = tmp.File("vitpose_original.safetensors");
        OriginalViTPoseLayout.Write(Path.Combine(dir, Fixture + ".pth"), original);

        using var fromOriginal = FixtureParityTests.VitTiny();
        var report = WeightsLoader.LoadInto(fromOriginal, original);
        using var fromMmpose = FixtureParityTests.VitTiny();
        var plain = WeightsLoader.LoadInto(fromMmpose, Path.Combine(dir, Fixture + ".pth"));
        fromOriginal.Eval();
        fromMmpose.Eval();

        using var scope = torch.NewDisposeScope();
        using var _ = Autograd.InferenceMode();
        var input = FixtureParityTests.ReadBin(Path.Combine(dir, "input.bin"), [2, 3, 256, 192]);
        var a = fromOriginal.Forward(input)["heatmaps"];
        var b = fromMmpose.Forward(input)["heatmaps"];
        // mmpose's heatmaps for this input, within the fixture's tolerance; the two layouts agree far more closely
        // (only the rounding of (pos - r) + r separates them).
        FixtureParityTests.AssertClose(FixtureParityTests.ReadBin(Path.Combine(dir, "heatmaps.bin"), [2, 17, 64, 48]), a, 1e-4, 1e-3, "heatmaps");
        Assert.True(TinyVitCheckpoints.MaxDiff(a, b) < 1e-5, $"layouts differ by {TinyVitCheckpoints.MaxDiff(a, b)}");

        // The report: every tensor loaded, every name but the position embedding's changed, the cls slot noted.
        Assert.Equal(CheckpointLayout.Mmpose, plain.Layout);
        Assert.False(plain.Mapped);
        Assert.Equal(CheckpointLayout.OriginalViTPose, report.Layout);
        Assert.True(report.Mapped);
        Assert.Equal(67, report.Loaded); // the fixture's state-dict tensor count
        Assert.Equal(66, report.Renamed.Count);
        Assert.Contains(("backbone.blocks.3.mlp.fc2.weight", "backbone.layers.3.ffn.layers.1.weight"), report.Renamed);
        Assert.Contains(("keypoint_head.final_layer.bias", "head.final_layer.bias"), report.Renamed);
        Assert.Contains(("backbone.last_norm.weight", "backbone.ln1.weight"), report.Renamed);
        Assert.Contains(report.Notes, n => n.Contains("cls slot") && n.Contains("[1, 193, 192] -> [1, 192, 192]"));
        var text = report.ToString();
        Assert.Contains("OriginalViTPose layout", text);
        Assert.Contains("... and 58 more", text);
    }

    [Fact]
    public void AnOriginalCheckpointOfAnotherSizeFailsNamingTheFileAndTheMapping()
    {
        var dir = SharedData.Fixture(Fixture);
        using var tmp = new TinyVitCheckpoints.TempDir();
        var original = tmp.File("vitpose_original.safetensors");
        OriginalViTPoseLayout.Write(Path.Combine(dir, Fixture + ".pth"), original);
        // A model with 3 layers where the checkpoint has 4: mapped, then refused by the strict load.
        using var model = new Distill.Pose.Models.TopdownPoseEstimator(
            new Distill.Pose.Models.Backbones.VisionTransformer(192, 3, 3, 768, (192, 256)),
            new Distill.Pose.Models.Heads.HeatmapHead(192, 17),
            new Distill.Pose.Codecs.UDPHeatmap((192, 256), (48, 64), 2.0),
            [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]);
        var e = Assert.Throws<InvalidDataException>(() => WeightsLoader.LoadInto(model, original));
        Assert.StartsWith(original + ": cannot load state dict", e.Message);
        Assert.Contains("backbone.layers.3.", e.Message);
        Assert.Contains("read as the OriginalViTPose layout", e.Message);
    }
}
