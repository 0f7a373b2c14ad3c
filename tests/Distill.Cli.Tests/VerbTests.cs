using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Distill.Cli.Tests.Support;
using Distill.Onnx.Protos;
using Distill.Pose.Keypoints;

namespace Distill.Cli.Tests;

/// <summary>eval, export, predict, report and synth run end to end on small inputs; their outputs are read back.</summary>
[Collection(CliCollection.Name)]
public sealed class VerbTests(CliFixture f)
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>The rows of eval's "| metric | value |" table.</summary>
    public static Dictionary<string, string> EvalTable(CliResult r)
    {
        var table = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in r.StdOut.Where(l => l.StartsWith("| ", StringComparison.Ordinal)))
        {
            var cells = line.Trim('|').Split('|').Select(c => c.Trim()).ToArray();
            if (cells.Length == 2 && cells[0] != "metric") table[cells[0]] = cells[1];
        }
        return table;
    }

    [Fact]
    public void EvalReproducesTheValidationOfTheTrainingRun()
    {
        var r = f.Run("eval", "configs/tiny.yaml", "--checkpoint", f.ReferenceCheckpoint);
        Assert.True(r.ExitCode == 0, r.ToString());
        var table = EvalTable(r);
        // The run's own validation at its last epoch, as summary.json records it (the same EMA weights, the same flip test).
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(f.ReferenceRun, "summary.json")));
        var logged = summary.RootElement.GetProperty("metrics").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble());
        Assert.Equal(11, logged.Count); // PCK@0.1 and the ten COCO numbers
        Assert.Equal(logged.Keys.Order(StringComparer.Ordinal), table.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, value) in logged) Assert.Equal(value.ToString("F4", Inv), table[name]);
        double pck = double.Parse(table["coco/PCK@0.1"], Inv);
        Assert.InRange(pck, 0.0, 1.0);
    }

    [Fact]
    public void ExportWritesAValidOnnxModelWithTheExpectedInterface()
    {
        var dir = f.NewDir("export");
        var onnx = Path.Combine(dir, "tiny.onnx");
        var r = f.Run("export", "configs/tiny.yaml", "--checkpoint", f.ReferenceCheckpoint, "--output", onnx, "--decode");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains($"export: {onnx} (opset 17, 17 keypoints coco17, input 48x64)", r.Output);

        ModelProto model;
        using (var s = File.OpenRead(onnx)) model = ModelProto.Parser.ParseFrom(s);
        Assert.Contains(model.OpsetImport, o => o.Domain == "" && o.Version == 17);
        var input = Assert.Single(model.Graph.Input);
        Assert.Equal("input", input.Name);
        Assert.Equal(["batch", "3", "64", "48"], Dims(input));
        var outputs = model.Graph.Output.ToDictionary(o => o.Name, Dims);
        Assert.Equal(["simcc_x", "simcc_y", "keypoints", "scores"], model.Graph.Output.Select(o => o.Name));
        Assert.Equal(["batch", "17", "96"], outputs["simcc_x"]); // 48 px x split ratio 2
        Assert.Equal(["batch", "17", "128"], outputs["simcc_y"]);
        Assert.Equal(["batch", "17", "2"], outputs["keypoints"]);
        Assert.Equal(["batch", "17"], outputs["scores"]);
        // BatchNorm is folded into the convolutions by default; the weights are in the file.
        Assert.DoesNotContain(model.Graph.Node, n => n.OpType == "BatchNormalization");
        Assert.Contains(model.Graph.Node, n => n.OpType == "Conv");
        Assert.NotEmpty(model.Graph.Initializer);
        var meta = model.MetadataProps.ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal("17", meta["num_keypoints"]);
        Assert.Equal(KeypointSet.FromName("coco17").Names, JsonSerializer.Deserialize<string[]>(meta["keypoint_names"]));
    }

    private static string[] Dims(ValueInfoProto v) =>
        v.Type.TensorType.Shape.Dim.Select(d => d.HasDimParam ? d.DimParam : d.DimValue.ToString(Inv)).ToArray();

    [Fact]
    public void PredictOnAnImageFolderWritesOnePersonPerImageAndOverlays()
    {
        var dir = f.NewDir("predict-folder");
        var r = f.Run("predict", "configs/tiny.yaml", "--checkpoint", f.ReferenceCheckpoint, "--images", f.ValImagesDir, "--out", dir);
        Assert.True(r.ExitCode == 0, r.ToString());
        var images = ValImages();
        Assert.Contains($"predict: {images.Count} people in {images.Count} images -> {dir}", r.Output);

        var results = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "predictions.json")))!.AsArray();
        // Without boxes every image is one person in a box covering the whole image (image ids come from the COCO file names).
        Assert.Equal(images.Keys.Order(), results.Select(e => e!["image_id"]!.GetValue<long>()).Order());
        foreach (var e in results)
        {
            long id = e!["image_id"]!.GetValue<long>();
            Assert.Equal(images[id].File, e["image_file"]!.GetValue<string>());
            Assert.Equal(1, e["category_id"]!.GetValue<int>());
            var kp = e["keypoints"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
            Assert.Equal(17 * 3, kp.Length);
            // The score of a whole-image box (score 1): the mean of the keypoint scores above 0.2, or 0 without any.
            var confident = Enumerable.Range(0, 17).Select(k => kp[3 * k + 2]).Where(s => s > 0.2).ToList();
            Assert.Equal(confident.Count == 0 ? 0 : confident.Average(), e["score"]!.GetValue<double>(), 12);
            // The overlay has the image's size.
            var png = Path.Combine(dir, images[id].File + ".png");
            Assert.Equal((images[id].Width, images[id].Height), PngSize(png));
        }
        Assert.Equal(images.Count, Directory.GetFiles(dir, "*.png").Length);
    }

    [Fact]
    public void PredictWithBoxesWritesOnePersonPerBox()
    {
        var dir = f.NewDir("predict-boxes");
        var gt = JsonNode.Parse(File.ReadAllText(f.ValAnnotations))!;
        var dets = new JsonArray();
        foreach (var a in gt["annotations"]!.AsArray())
            dets.Add(new JsonObject { ["image_id"] = a!["image_id"]!.GetValue<long>(), ["category_id"] = 1, ["bbox"] = a["bbox"]!.DeepClone(), ["score"] = 1.0 });
        var detsPath = Path.Combine(dir, "dets.json");
        File.WriteAllText(detsPath, dets.ToJsonString());
        var outDir = Path.Combine(dir, "out");
        var r = f.Run("predict", "configs/tiny.yaml", "--checkpoint", f.ReferenceCheckpoint, "--images", f.ValImagesDir, "--boxes", detsPath, "--out", outDir);
        Assert.True(r.ExitCode == 0, r.ToString());
        var images = ValImages();
        Assert.Contains($"predict: {dets.Count} people in {images.Count} images", r.Output);

        var results = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "predictions.json")))!.AsArray();
        // One entry per annotated person (distinct people are far apart, so OKS-NMS keeps them all), on its image.
        Assert.Equal(dets.Select(d => d!["image_id"]!.GetValue<long>()).Order(), results.Select(e => e!["image_id"]!.GetValue<long>()).Order());
        foreach (var e in results)
        {
            Assert.Equal(17 * 3, e!["keypoints"]!.AsArray().Count);
            Assert.Equal(images[e["image_id"]!.GetValue<long>()].File, e["image_file"]!.GetValue<string>());
            Assert.True(double.IsFinite(e["score"]!.GetValue<double>()));
        }
        // Each image's people come highest score first.
        foreach (var group in results.GroupBy(e => e!["image_id"]!.GetValue<long>()))
        {
            var scores = group.Select(e => e!["score"]!.GetValue<double>()).ToList();
            Assert.Equal(scores.OrderDescending(), scores);
        }
        Assert.Equal(images.Count, Directory.GetFiles(outDir, "*.png").Length);
    }

    [Fact]
    public void ReportListsTheRun()
    {
        var r = f.Run("report", "runs/reference");
        Assert.True(r.ExitCode == 0, r.ToString());
        var header = r.StdOut[0];
        Assert.StartsWith("| run | config | student | teachers | ", header);
        var columns = header.Trim('|').Split('|').Select(c => c.Trim()).ToList();
        var rows = r.StdOut.Skip(2).Where(l => l.StartsWith('|')).ToList();
        var row = Assert.Single(rows).Trim('|').Split('|').Select(c => c.Trim()).ToList();
        Assert.Equal(columns.Count, row.Count);
        Assert.Equal("tiny", row[0]);
        Assert.Equal("tiny.yaml", row[1]);
        Assert.Equal("CSPNeXt(d0.167 w0.125) + RTMCCHead coco17 48x64", row[2]);
        Assert.Equal("-", row[3]);
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(f.ReferenceRun, "summary.json")));
        var metrics = summary.RootElement.GetProperty("metrics");
        foreach (var name in new[] { "coco/AP", "coco/PCK@0.1" })
            Assert.Equal(metrics.GetProperty(name).GetDouble().ToString("F3", Inv), row[columns.IndexOf(name)]);
    }

    [Fact]
    public void SynthWritesTheImagesAndAnnotationsAskedForReproducibly()
    {
        var a = Path.Combine(f.NewDir("synth"), "a");
        var b = Path.Combine(f.NewDir("synth-again"), "b");
        string[] args = ["--coco", "12", "--mpii", "8", "--seed", "5", "--scene", "simple"];
        var r = f.Run(["synth", "--out", a, .. args]);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains($"synth: COCO 11+1 images, MPII 7+1 images", r.Output);

        // 90/10 splits; a simple scene holds one whole person.
        Assert.Equal(11, Directory.GetFiles(Path.Combine(a, "coco", "images", "train"), "*.jpg").Length);
        Assert.Single(Directory.GetFiles(Path.Combine(a, "coco", "images", "val"), "*.jpg"));
        Assert.Equal(8, Directory.GetFiles(Path.Combine(a, "mpii", "images"), "*.jpg").Length);
        foreach (var (split, n) in new[] { ("train", 11), ("val", 1) })
        {
            var coco = JsonNode.Parse(File.ReadAllText(Path.Combine(a, "coco", "annotations", $"person_keypoints_{split}.json")))!;
            Assert.Equal(n, coco["images"]!.AsArray().Count);
            Assert.Equal(n, coco["annotations"]!.AsArray().Count);
            foreach (var img in coco["images"]!.AsArray())
                Assert.True(File.Exists(Path.Combine(a, "coco", "images", split, img!["file_name"]!.GetValue<string>())));
            foreach (var ann in coco["annotations"]!.AsArray()) Assert.Equal(17 * 3, ann!["keypoints"]!.AsArray().Count);
        }
        foreach (var (split, n) in new[] { ("train", 7), ("val", 1) })
        {
            var mpii = JsonNode.Parse(File.ReadAllText(Path.Combine(a, "mpii", "annotations", $"mpii_{split}.json")))!.AsArray();
            Assert.Equal(n, mpii.Count);
            foreach (var rec in mpii)
            {
                Assert.Equal(16, rec!["joints"]!.AsArray().Count);
                Assert.True(File.Exists(Path.Combine(a, "mpii", "images", rec["image"]!.GetValue<string>())));
            }
        }

        // The same arguments give the same bytes.
        var again = f.Run(["synth", "--out", b, .. args]);
        Assert.True(again.ExitCode == 0, again.ToString());
        var filesA = Directory.GetFiles(a, "*", SearchOption.AllDirectories).Select(p => Path.GetRelativePath(a, p)).Order(StringComparer.Ordinal).ToList();
        var filesB = Directory.GetFiles(b, "*", SearchOption.AllDirectories).Select(p => Path.GetRelativePath(b, p)).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(filesA, filesB);
        foreach (var file in filesA)
            Assert.True(File.ReadAllBytes(Path.Combine(a, file)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(b, file))), $"{file} differs");

        // A folder that is not empty is refused unless --force.
        var refused = f.Run(["synth", "--out", a, .. args]);
        Assert.True(refused.ExitCode != 0, refused.ToString());
        Assert.Contains("is not empty", refused.Output);
    }

    /// <summary>The validation images of the fixture's dataset by id.</summary>
    private Dictionary<long, (string File, int Width, int Height)> ValImages()
    {
        var gt = JsonNode.Parse(File.ReadAllText(f.ValAnnotations))!;
        var images = gt["images"]!.AsArray().ToDictionary(i => i!["id"]!.GetValue<long>(),
            i => (i!["file_name"]!.GetValue<string>(), i["width"]!.GetValue<int>(), i["height"]!.GetValue<int>()));
        Assert.Equal(CliFixture.ValImages, images.Count);
        return images;
    }

    /// <summary>Width and height from a PNG's IHDR chunk (after checking the signature).</summary>
    private static (int Width, int Height) PngSize(string path)
    {
        var bytes = File.ReadAllBytes(path);
        Assert.True(bytes.AsSpan(0, 8).SequenceEqual(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }), $"{path} is not a PNG");
        Assert.Equal("IHDR", System.Text.Encoding.ASCII.GetString(bytes, 12, 4));
        return (System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16)), System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20)));
    }
}
