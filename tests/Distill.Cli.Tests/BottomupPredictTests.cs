using System.Text.Json.Nodes;
using Distill.Cli.Tests.Support;
using Distill.Pose.BottomUp;
using Distill.Pose.Models;
using Distill.Pose.Synthetic;
using Distill.Pose.Transforms;
using Distill.TestSupport;
using Distill.Torch;
using Distill.Torch.Serialization;
using Distill.Torch.Vision;

namespace Distill.Cli.Tests;

/// <summary>A small bottom-up model (CSPNeXt, stride 8 fields at 129 x 129) with seeded random weights saved as a
/// checkpoint, and a few synthetic multi-person scenes.</summary>
public sealed class BottomupPredictFixture : IDisposable
{
    public const string ConfigText = """
        model:
          type: BottomupPoseEstimator
          keypoint_set: coco17
          input_size: [129, 129]
          backbone: {type: CSPNeXt, deepen_factor: 0.167, widen_factor: 0.125, out_indices: [3]}
          head: {type: CifCafHead, upsample: 2}
        """;

    public BottomupPredictFixture()
    {
        Root = Path.Combine(Path.GetTempPath(), "distill-bu-predict-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Root);
        Config = Path.Combine(Root, "bu.yaml");
        File.WriteAllText(Config, ConfigText);
        torch.ManualSeed(7);
        var (model, _) = ModelFactory.BuildBottomup(ModelConfig.Load(Config));
        using (model) SafeTensors.Save(Checkpoint, model.StateDict());
        Synth.Generate(new SynthOptions { OutDir = Path.Combine(Root, "synth"), Seed = 3, CocoImages = 10, Threads = 1, Scene = SynthScene.Standard });
        SynthImages = Path.Combine(Root, "synth", "coco", "images", "train");
    }

    public string Root { get; }
    public string Config { get; }
    public string Checkpoint => Path.Combine(Root, "bu.safetensors");
    public string SynthImages { get; }

    public CliResult Run(params string[] args) => DistillCli.Run(Root, args);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}

/// <summary>`distill predict CONFIG --checkpoint CKPT --images DIR --out DIR` on a bottom-up model: no boxes.</summary>
public sealed class BottomupPredictTests(BottomupPredictFixture f) : IClassFixture<BottomupPredictFixture>
{
    private static JsonArray Predictions(string dir) => JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "predictions.json")))!.AsArray();

    /// <summary>Checks the written file against the images: every entry names an input, has K x 3 finite values with
    /// positions inside its image, and every image has an overlay of its own size.</summary>
    private static void CheckOutput(string images, string outDir, CliResult r)
    {
        var files = Directory.GetFiles(images).Where(p => p.EndsWith(".jpg") || p.EndsWith(".png")).ToList();
        var sizes = files.ToDictionary(p => Path.GetFileName(p), p => { var im = Image.Read(p); return (im.Width, im.Height); });
        var entries = Predictions(outDir);
        Assert.Contains($"predict: {entries.Count} people in {files.Count} images", r.Output);
        foreach (var e in entries)
        {
            var name = e!["image_file"]!.GetValue<string>();
            Assert.True(sizes.ContainsKey(name), name);
            var (w, h) = sizes[name];
            Assert.Equal(1, e["category_id"]!.GetValue<int>());
            var k = e["keypoints"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
            Assert.Equal(17 * 3, k.Length);
            for (int j = 0; j < 17; j++)
            {
                Assert.InRange(k[3 * j], 0, w);
                Assert.InRange(k[3 * j + 1], 0, h);
                Assert.InRange(k[3 * j + 2], 0, 1);
            }
            Assert.True(double.IsFinite(e["score"]!.GetValue<double>()));
        }
        foreach (var (name, (w, h)) in sizes)
        {
            var overlay = Image.Read(Path.Combine(outDir, name + ".png"));
            Assert.Equal((w, h), (overlay.Width, overlay.Height));
        }
    }

    [Fact]
    public void SyntheticScenesNeedNoBoxes()
    {
        var outDir = Path.Combine(f.Root, "out-synth");
        var r = f.Run("predict", f.Config, "--checkpoint", f.Checkpoint, "--images", f.SynthImages, "--out", outDir);
        Assert.True(r.ExitCode == 0, r.ToString());
        CheckOutput(f.SynthImages, outDir, r);
    }

    /// <summary>On the real photos the command writes what the model decodes in process, mapped to image pixels, with
    /// the COCO image id taken from the file name.</summary>
    [Fact]
    public void RealPhotosGiveWhatTheModelDecodesInProcess()
    {
        var images = SharedData.Data("coco");
        var outDir = Path.Combine(f.Root, "out-real");
        var r = f.Run("predict", f.Config, "--checkpoint", f.Checkpoint, "--images", images, "--out", outDir);
        Assert.True(r.ExitCode == 0, r.ToString());
        CheckOutput(images, outDir, r);
        var entries = Predictions(outDir);

        var (model, _) = ModelFactory.BuildBottomup(ModelConfig.Load(f.Config));
        using var _m = model;
        Distill.Pose.Models.Checkpoints.WeightsLoader.LoadInto(model, f.Checkpoint);
        var norm = new ImageNormalization(model.Mean, model.Std);
        int compared = 0;
        foreach (var file in Directory.GetFiles(images, "*.jpg").Order(StringComparer.Ordinal))
        {
            var (input, g) = WholeImageInput.Prepare(Image.Read(file), model.InputSize, norm);
            using var scope = torch.NewDisposeScope();
            var poses = model.Predict(torch.FromArray(input, [1, 3, model.InputSize.Height, model.InputSize.Width]))[0];
            long id = long.Parse(Path.GetFileNameWithoutExtension(file));
            var mine = entries.Where(e => e!["image_file"]!.GetValue<string>() == Path.GetFileName(file)).ToList();
            Assert.Equal(poses.Count, mine.Count);
            for (int i = 0; i < poses.Count; i++)
            {
                var expected = g.ToImage(poses[i], id);
                Assert.Equal(id, mine[i]!["image_id"]!.GetValue<long>());
                Assert.Equal(expected.Score, mine[i]!["score"]!.GetValue<double>(), 5);
                var k = mine[i]!["keypoints"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
                for (int j = 0; j < k.Length; j++) Assert.Equal(expected.Keypoints[j], k[j], 3);
                compared++;
            }
        }
        // A random model may find nobody; the counts per image were still compared above.
        _ = compared;
    }

    [Fact]
    public void BoxOptionsAreRefusedForBottomupModels()
    {
        var outDir = Path.Combine(f.Root, "out-refused");
        var r = f.Run("predict", f.Config, "--checkpoint", f.Checkpoint, "--images", f.SynthImages, "--out", outDir, "--bbox", "0,0,50,50");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("--bbox is for top-down models", r.Output);
        r = f.Run("predict", f.Config, "--checkpoint", f.Checkpoint, "--images", f.SynthImages, "--out", outDir, "--flip-test");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("--flip-test", r.Output);
        Assert.False(Directory.Exists(outDir));
    }
}
