using System.Text.Json.Nodes;
using Distill.Cli.Tests.Support;
using Distill.Onnx.Protos;
using Google.Protobuf;

namespace Distill.Cli.Tests;

/// <summary>
/// `distill predict MODEL.onnx`: the deployment path with nothing but the exported file. It must predict what the
/// checkpoint predicts, and a damaged file, one without the metadata, or one whose metadata contradicts its graph
/// must each fail with one line naming the file.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class PredictOnnxTests(CliFixture f)
{
    /// <summary>The reference run's student exported once per test (exports take well under a second).</summary>
    private string Export(string dir)
    {
        string onnx = Path.Combine(dir, "tiny.onnx");
        var r = f.Run("export", "configs/tiny.yaml", "--checkpoint", f.ReferenceCheckpoint, "--output", onnx);
        Assert.True(r.ExitCode == 0, r.ToString());
        return onnx;
    }

    private static JsonArray Predictions(string dir) => JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "predictions.json")))!.AsArray();

    [Fact]
    public void TheOnnxFileAlonePredictsWhatTheCheckpointPredicts()
    {
        var dir = f.NewDir("predict-onnx");
        string onnx = Export(dir);
        string fromCkpt = Path.Combine(dir, "ckpt"), fromOnnx = Path.Combine(dir, "onnx");
        var a = f.Run("predict", "configs/tiny.yaml", "--checkpoint", f.ReferenceCheckpoint, "--images", f.ValImagesDir, "--out", fromCkpt, "--flip-test");
        Assert.True(a.ExitCode == 0, a.ToString());
        var b = f.Run("predict", onnx, "--images", f.ValImagesDir, "--out", fromOnnx, "--flip-test");
        Assert.True(b.ExitCode == 0, b.ToString());
        Assert.Contains($"predict: {CliFixture.ValImages} people in {CliFixture.ValImages} images", b.Output);

        var pa = Predictions(fromCkpt);
        var pb = Predictions(fromOnnx);
        Assert.Equal(CliFixture.ValImages, pb.Count);
        Assert.Equal(pa.Select(e => e!["image_file"]!.GetValue<string>()), pb.Select(e => e!["image_file"]!.GetValue<string>()));
        int coordinates = 0, exact = 0;
        for (int i = 0; i < pa.Count; i++)
        {
            var ka = pa[i]!["keypoints"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
            var kb = pb[i]!["keypoints"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
            Assert.Equal(17 * 3, kb.Length);
            for (int k = 0; k < 17; k++)
            {
                // SimCC decodes to the arg-max bin: a rounding-level logit difference can at most move it to a
                // neighbouring bin (half a crop pixel at split ratio 2, under 2 image pixels for these crops).
                for (int c = 0; c < 2; c++)
                {
                    double d = Math.Abs(ka[3 * k + c] - kb[3 * k + c]);
                    Assert.True(d <= 2.0, $"{pa[i]!["image_file"]} keypoint {k}: {ka[3 * k + c]} vs {kb[3 * k + c]}");
                    coordinates++;
                    if (d <= 1e-3) exact++;
                }
                Assert.True(Math.Abs(ka[3 * k + 2] - kb[3 * k + 2]) <= 1e-3, $"keypoint {k} score {ka[3 * k + 2]} vs {kb[3 * k + 2]}");
            }
            Assert.True(Math.Abs(pa[i]!["score"]!.GetValue<double>() - pb[i]!["score"]!.GetValue<double>()) <= 1e-3);
        }
        // Nearly every coordinate is the same bin on both engines.
        Assert.True(exact >= coordinates * 0.95, $"only {exact} of {coordinates} coordinates agree within 1e-3 px");
        Assert.True(File.Exists(Path.Combine(fromOnnx, Path.GetFileName(Directory.GetFiles(f.ValImagesDir)[0]) + ".png")));
    }

    [Fact]
    public void ACheckpointWithAnOnnxFileOrAConfigWithoutOneIsRefused()
    {
        var dir = f.NewDir("predict-onnx-args");
        string onnx = Export(dir);
        var r = f.Run("predict", onnx, "--checkpoint", f.ReferenceCheckpoint, "--images", f.ValImagesDir, "--out", Path.Combine(dir, "o"));
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("--checkpoint", r.Output);
        r = f.Run("predict", "configs/tiny.yaml", "--images", f.ValImagesDir, "--out", Path.Combine(dir, "o"));
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("needs --checkpoint", r.Output);
    }

    [Fact]
    public void DamagedFilesMissingMetadataAndAContradictingInputSizeEachNameTheFile()
    {
        var dir = f.NewDir("predict-onnx-bad");
        string onnx = Export(dir);
        var bytes = File.ReadAllBytes(onnx);
        var model = ModelProto.Parser.ParseFrom(bytes);

        string truncated = Path.Combine(dir, "truncated.onnx");
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        string corrupt = Path.Combine(dir, "corrupt.onnx");
        var noise = new byte[4096];
        new Random(1).NextBytes(noise);
        File.WriteAllBytes(corrupt, noise);
        string empty = Path.Combine(dir, "empty.onnx");
        File.WriteAllBytes(empty, []);

        string noSigmas = Path.Combine(dir, "no-sigmas.onnx");
        var m1 = model.Clone();
        m1.MetadataProps.Remove(m1.MetadataProps.Single(p => p.Key == "sigmas"));
        File.WriteAllBytes(noSigmas, m1.ToByteArray());
        string noMetadata = Path.Combine(dir, "no-metadata.onnx");
        var m2 = model.Clone();
        m2.MetadataProps.Clear();
        File.WriteAllBytes(noMetadata, m2.ToByteArray());
        // The metadata says 64x64 while the graph takes 48x64 crops.
        string wrongSize = Path.Combine(dir, "wrong-size.onnx");
        var m3 = model.Clone();
        m3.MetadataProps.Single(p => p.Key == "input_size").Value = "[64, 64]";
        File.WriteAllBytes(wrongSize, m3.ToByteArray());

        foreach (var (file, expected) in new[]
        {
            (truncated, "cannot load"), (corrupt, "cannot load"), (empty, "empty"), (noSigmas, "'sigmas'"),
            (noMetadata, "no 'num_keypoints' entry"), (wrongSize, "input"), (Path.Combine(dir, "absent.onnx"), "no such ONNX model"),
        })
        {
            var r = f.Run("predict", file, "--images", f.ValImagesDir, "--out", Path.Combine(dir, "out"));
            Assert.True(r.ExitCode == 1, $"{file}: {r}");
            Assert.Contains(file, r.Output);
            Assert.Contains(expected, r.Output);
            // One line, no stack trace.
            Assert.DoesNotContain("   at ", r.Output);
        }
    }
}
