using System.Text.Json.Nodes;
using Distill.Cli.Tests.Support;
using Distill.TestSupport;
using Distill.TestSupport.Checkpoints;
using Distill.Torch.Vision;

namespace Distill.Cli.Tests;

/// <summary>
/// A checkpoint of the original ViTPose release (the shared ViT fixture rewritten into that layout) works as
/// --checkpoint in predict, eval and export, with the same results as mmpose's layout; and predict's classic path
/// (test_cfg.inference: classic) agrees with mmpose's UDP path within a pixel.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class VitPoseCheckpointTests(CliFixture f)
{
    private const string Fixture = "vit-tiny4_coco_256x192";

    private static string Repo(params string[] parts) => Path.Combine([SharedData.RepoRoot, .. parts]).Replace('\\', '/');

    private static string MmposeCheckpoint => SharedData.Fixture(Fixture, Fixture + ".pth");

    /// <summary>The fixture's network: the shipped ViTPose-S model config with the fixture's sizes.</summary>
    private static string ModelSection(string inference) => $$"""
        _base_: {{Repo("configs", "models", "vitpose-s_coco.yaml")}}
        model:
          backbone: {arch: custom, embed_dims: 192, num_layers: 4, num_heads: 3, feedforward_channels: 768, drop_path_rate: 0.0}
          test_cfg: {flip_test: false, inference: {{inference}}}
        """;

    private (string Dir, string Original, string Image) Setup(string name)
    {
        var dir = f.NewDir(name);
        var original = Path.Combine(dir, "vitpose_original.safetensors");
        OriginalViTPoseLayout.Write(MmposeCheckpoint, original);
        // A smooth 320 x 240 picture: crops of it change little under sub-pixel differences in sampling.
        var image = new Image(240, 320);
        for (int y = 0; y < 240; y++)
            for (int x = 0; x < 320; x++)
            {
                image[y, x, 0] = (byte)(128 + 100 * Math.Sin(x / 23.0));
                image[y, x, 1] = (byte)(128 + 100 * Math.Cos(y / 31.0));
                image[y, x, 2] = (byte)(128 + 60 * Math.Sin((x + y) / 41.0));
            }
        var png = Path.Combine(dir, "picture.png");
        image.SavePng(png);
        return (dir, original, png);
    }

    private string Config(string dir, string name, string inference)
    {
        var path = Path.Combine(dir, name + ".yaml");
        File.WriteAllText(path, ModelSection(inference));
        return path;
    }

    private double[] Predict(string config, string checkpoint, string image, string bbox, string outDir, out CliResult result)
    {
        result = f.Run("predict", config, "--checkpoint", checkpoint, "--images", image, "--bbox", bbox, "--out", outDir);
        Assert.True(result.ExitCode == 0, result.ToString());
        var people = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "predictions.json")))!.AsArray();
        Assert.Single(people);
        return people[0]!["keypoints"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
    }

    [Fact]
    public void PredictEvalAndExportTakeTheOriginalLayout()
    {
        var (dir, original, image) = Setup("vitpose-original");
        var config = Config(dir, "vit", "mmpose");
        const string box = "100,60,120,160";
        var fromMmpose = Predict(config, MmposeCheckpoint, image, box, Path.Combine(dir, "a"), out var plain);
        var fromOriginal = Predict(config, original, image, box, Path.Combine(dir, "b"), out var mapped);
        // The same network: the same keypoints and scores, up to float rounding of the re-split position embedding
        // (which DARK-UDP's log-Taylor step on these random-weight maps magnifies to a few thousandths of a pixel).
        for (int i = 0; i < fromMmpose.Length; i++)
            Assert.True(Math.Abs(fromMmpose[i] - fromOriginal[i]) < (i % 3 == 2 ? 1e-5 : 0.02), $"value {i}: {fromMmpose[i]} vs {fromOriginal[i]}");
        // Only the mapped load says what it did.
        Assert.DoesNotContain(plain.StdErr, l => l.Contains("OriginalViTPose", StringComparison.Ordinal));
        Assert.Contains(mapped.StdErr, l => l.Contains("read as the OriginalViTPose layout and mapped to mmpose names (66 renamed)", StringComparison.Ordinal));
        Assert.Contains(mapped.StdErr, l => l.Contains("backbone.blocks.0.norm1.weight -> backbone.layers.0.ln1.weight", StringComparison.Ordinal));

        // export
        var onnx = Path.Combine(dir, "vit.onnx");
        var export = f.Run("export", config, "--checkpoint", original, "--output", onnx);
        Assert.True(export.ExitCode == 0, export.ToString());
        Assert.True(new FileInfo(onnx).Length > 3_000_000, "the exported graph holds the weights");
        Assert.Contains(export.StdErr, l => l.Contains("OriginalViTPose", StringComparison.Ordinal));

        // eval: the synthetic COCO validation set scores the same with either file.
        var experiment = Path.Combine(dir, "vit-eval.yaml");
        File.WriteAllText(experiment, ModelSection("mmpose") + "\n" + """
            name: vit-eval
            device: cpu
            threads: 1
            data:
              batch_size: 4
              val_batch_size: 8
              num_workers: 1
              sources:
                - {name: coco, format: coco, ann_file: data/coco/annotations/person_keypoints_train.json, img_dir: data/coco/images/train,
                   val_ann_file: data/coco/annotations/person_keypoints_val.json, val_img_dir: data/coco/images/val}
            evaluation: {metrics: [coco, pck], best_metric: coco/AP}
            """);
        var evalPlain = f.Run("eval", experiment, "--checkpoint", MmposeCheckpoint);
        var evalMapped = f.Run("eval", experiment, "--checkpoint", original);
        Assert.True(evalPlain.ExitCode == 0, evalPlain.ToString());
        Assert.True(evalMapped.ExitCode == 0, evalMapped.ToString());
        var a = VerbTests.EvalTable(evalPlain);
        Assert.Contains("coco/AP", a.Keys);
        Assert.Equal(a, VerbTests.EvalTable(evalMapped));
        Assert.Contains(evalMapped.StdErr, l => l.Contains("OriginalViTPose", StringComparison.Ordinal));
    }

    [Fact]
    public void ClassicPathCropsAsTheUdpPathAndDecodesOnItsQuarterPixelGrid()
    {
        var (dir, original, image) = Setup("vitpose-classic");
        var udp = Config(dir, "udp", "mmpose");
        var classic = Config(dir, "classic", "classic");
        // Box (140, 90, 38.4, 51.2): center (159.2, 115.6), padded to 48 x 64 image pixels, so one heatmap pixel is one
        // image pixel and the padded box starts at (135.2, 83.6).
        const string box = "140,90,38.4,51.2";
        var a = Predict(udp, MmposeCheckpoint, image, box, Path.Combine(dir, "udp"), out _);
        var b = Predict(classic, original, image, box, Path.Combine(dir, "classic"), out _);
        var report = string.Join("; ", Enumerable.Range(0, 17).Select(k =>
            $"{k}: ({a[3 * k]:F2}, {a[3 * k + 1]:F2}) vs ({b[3 * k]:F2}, {b[3 * k + 1]:F2}) score {a[3 * k + 2]:F3}"));
        for (int k = 0; k < 17; k++)
        {
            // Every score is the maximum of a heatmap: equal scores mean the two paths cut the same crop.
            Assert.True(Math.Abs(a[3 * k + 2] - b[3 * k + 2]) < 1e-5, $"keypoint {k}: scores differ: {report}");
            // Classic keypoints are argmax + {-0.25, 0, 0.25} heatmap pixels from the box corner; a map with no positive
            // value gives heatmap (-1, -1).
            foreach (var (v, origin) in new[] { (b[3 * k], 135.2), (b[3 * k + 1], 83.6) })
            {
                double q = (v - origin) * 4;
                Assert.True(Math.Abs(q - Math.Round(q)) < 1e-3, $"keypoint {k}: {v} is off the quarter-pixel grid: {report}");
            }
            if (b[3 * k + 2] <= 0)
                Assert.Equal((134.2, 82.6), (Math.Round(b[3 * k], 3), Math.Round(b[3 * k + 1], 3)));
            // Where the network is confident, mmpose's UDP path lands within two pixels. No closer: on these
            // random-weight maps DARK-UDP's Taylor step is ill-conditioned (see the fixtures' README) and moves
            // low-scoring keypoints by up to 15 pixels; on well-formed peaks the paths agree within a pixel
            // (ClassicTopdownTests).
            double d = Math.Sqrt(Math.Pow(a[3 * k] - b[3 * k], 2) + Math.Pow(a[3 * k + 1] - b[3 * k + 1], 2));
            if (a[3 * k + 2] > 0.1) Assert.True(d <= 2.0, $"keypoint {k} differs by {d:F3} px: {report}");
        }
    }
}
