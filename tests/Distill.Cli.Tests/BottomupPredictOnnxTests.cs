using System.Text.Json.Nodes;
using Distill.Cli.Tests.Support;
using Distill.Onnx;
using Distill.Onnx.Protos;
using Distill.Pose.BottomUp;
using Distill.Pose.BottomUp.Heads;
using Distill.Pose.Models;
using Distill.TestSupport;
using Distill.Torch;
using Distill.Torch.Nn;
using Distill.Torch.Serialization;
using Google.Protobuf;
using Xunit.Abstractions;

namespace Distill.Cli.Tests;

/// <summary>
/// The small bottom-up model of <see cref="BottomupPredictFixture"/> (CSPNeXt, stride 8 at 129 x 129) made to find
/// people: with the default random weights its features fade and every image decodes to nobody, so the backbone gets
/// He-normal convolutions and the heads image-dependent, peaked confidences (every image then decodes to the decoder's
/// cap of 20 poses, chosen from a few hundred seeds). Saved as a checkpoint and exported through `distill export`.
/// </summary>
public sealed class BottomupOnnxFixture : IDisposable
{
    public BottomupOnnxFixture()
    {
        Root = Path.Combine(Path.GetTempPath(), "distill-bu-onnx-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Root);
        Config = Path.Combine(Root, "bu.yaml");
        File.WriteAllText(Config, BottomupPredictFixture.ConfigText);
        torch.ManualSeed(7);
        var (model, _) = ModelFactory.BuildBottomup(ModelConfig.Load(Config));
        using (model)
        {
            using (Autograd.NoGrad())
            {
                using var g = new Generator(7);
                // He-normal backbone convolutions keep the features of order one (the default initialisation lets
                // them fade to ~1e-7 at stride 16).
                foreach (var (name, m) in model.NamedModules())
                    if (m is Conv2d conv && name.StartsWith("backbone", StringComparison.Ordinal))
                        conv.Weight.Normal_(0, Math.Sqrt(2.0 / (conv.Weight.Size(1) * conv.Weight.Size(2) * conv.Weight.Size(3))), g);
                using var probe = torch.FromArray(Enumerable.Range(0, 3 * 129 * 129).Select(i => (float)Math.Sin(i * 0.37)).ToArray(), [1, 3, 129, 129]);
                model.Eval();
                var features = model.Backbone.Forward(probe);
                double std = features[0].ToArray<float>().Select(v => (double)v * v).Average() is var ms ? Math.Sqrt(ms) : 1;
                foreach (var t in features) t.Dispose();
                Sharpen(model.Head.Cif, [1], [4], std, g);
                Sharpen(model.Head.Caf, [1], [6, 7], std, g);
            }
            SafeTensors.Save(Checkpoint, model.StateDict());
        }
        var r = Run("export", Config, "--checkpoint", Checkpoint, "--output", Onnx);
        if (r.ExitCode != 0) throw new InvalidOperationException(r.ToString());
    }

    /// <summary>
    /// For features of RMS <paramref name="rms"/>: confidence logits of spread 3 around -2.5, vectors within about half a
    /// cell of their cell, scales fixed at softplus(bias) = 2 cells.
    /// </summary>
    private static void Sharpen(CompositeFieldHead head, int[] confidence, int[] scales, double rms, Generator g)
    {
        int u2 = head.Upsample * head.Upsample;
        var w = head.Conv.Weight;
        var b = head.Conv.Bias!;
        double unit = 1 / (rms * Math.Sqrt(w.Size(1)));
        w.Normal_(0, 0.5 * unit, g);
        b.Zero_();
        for (int f = 0; f < head.Fields; f++)
            for (int s = 0; s < u2; s++)
            {
                foreach (int c in confidence)
                {
                    long ch = (f * head.Components + c) * u2 + s;
                    using var row = w[ch];
                    row.Mul_(6.0);
                    using var bias = b[ch];
                    bias.Fill_(-2.5);
                }
                foreach (int c in scales)
                {
                    long ch = (f * head.Components + c) * u2 + s;
                    using var row = w[ch];
                    row.Zero_();
                    using var bias = b[ch];
                    bias.Fill_(Math.Log(Math.Exp(2.0) - 1));
                }
            }
    }

    public string Root { get; }
    public string Config { get; }
    public string Checkpoint => Path.Combine(Root, "bu.safetensors");
    public string Onnx => Path.Combine(Root, "bu.onnx");

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

/// <summary>
/// `distill predict MODEL.onnx` on a bottom-up export: ONNX Runtime computes the fields, the decoder is rebuilt from
/// the file's metadata alone, and the output matches the checkpoint's run on the same images.
/// </summary>
public sealed class BottomupPredictOnnxTests(BottomupOnnxFixture f, ITestOutputHelper output) : IClassFixture<BottomupOnnxFixture>
{
    private static JsonArray Predictions(string dir) => JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "predictions.json")))!.AsArray();

    [Fact]
    public void TheOnnxFileAlonePredictsWhatTheCheckpointPredicts()
    {
        var images = SharedData.Data("coco");
        string fromCkpt = Path.Combine(f.Root, "ckpt"), fromOnnx = Path.Combine(f.Root, "onnx");
        var a = f.Run("predict", f.Config, "--checkpoint", f.Checkpoint, "--images", images, "--out", fromCkpt);
        Assert.True(a.ExitCode == 0, a.ToString());
        var b = f.Run("predict", f.Onnx, "--images", images, "--out", fromOnnx);
        Assert.True(b.ExitCode == 0, b.ToString());

        var pa = Predictions(fromCkpt);
        var pb = Predictions(fromOnnx);
        Assert.Contains($"predict: {pa.Count} people in 4 images", b.Output);
        double worst = 0, worstScore = 0;
        Assert.Equal(pa.Count, pb.Count);
        for (int i = 0; i < pa.Count; i++)
        {
            var ea = pa[i]!.AsObject();
            var eb = pb[i]!.AsObject();
            // The same entries with the same keys, in the same order.
            Assert.Equal(ea.Select(p => p.Key), eb.Select(p => p.Key));
            Assert.Equal(ea["image_file"]!.GetValue<string>(), eb["image_file"]!.GetValue<string>());
            Assert.Equal(ea["image_id"]!.GetValue<long>(), eb["image_id"]!.GetValue<long>());
            var ka = ea["keypoints"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
            var kb = eb["keypoints"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
            Assert.Equal(17 * 3, kb.Length);
            for (int k = 0; k < ka.Length; k++) worst = Math.Max(worst, Math.Abs(ka[k] - kb[k]));
            worstScore = Math.Max(worstScore, Math.Abs(ea["score"]!.GetValue<double>() - eb["score"]!.GetValue<double>()));
        }
        output.WriteLine($"worst keypoint difference {worst:G3}, worst score difference {worstScore:G3}");
        // The fields agree to float rounding (~1e-5 of a cell); through CifHr and the weighted CAF blends a keypoint
        // moves by at most a few thousandths of a pixel (under 1e-3 px measured).
        Assert.True(worst <= 0.01, $"keypoints differ by up to {worst} px");
        Assert.True(worstScore <= 1e-5, $"scores differ by up to {worstScore}");
        // Found people in every image (a check of nobody against nobody would prove nothing).
        Assert.Equal(4, pb.Select(e => e!["image_file"]!.GetValue<string>()).Distinct().Count());
        foreach (var file in Directory.GetFiles(images, "*.jpg"))
            Assert.True(File.Exists(Path.Combine(fromOnnx, Path.GetFileName(file) + ".png")), file);
    }

    [Theory]
    [InlineData("stride")]
    [InlineData("caf_skeleton")]
    [InlineData("decoder")]
    public void AnExportWithoutDecoderMetadataIsRefusedNamingTheKey(string key)
    {
        var proto = ModelProto.Parser.ParseFrom(File.ReadAllBytes(f.Onnx));
        Assert.Equal(1, proto.MetadataProps.Count(p => p.Key == key));
        var kept = proto.MetadataProps.Where(p => p.Key != key).ToList();
        proto.MetadataProps.Clear();
        proto.MetadataProps.AddRange(kept);
        var damaged = Path.Combine(f.Root, $"no-{key}.onnx");
        File.WriteAllBytes(damaged, proto.ToByteArray());
        var outDir = Path.Combine(f.Root, $"out-no-{key}");
        var r = f.Run("predict", damaged, "--images", SharedData.Data("coco"), "--out", outDir);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains($"no-{key}.onnx: the bottom-up model's metadata has no '{key}' entry", r.Output);
        Assert.DoesNotContain("   at ", r.Output);
        Assert.False(File.Exists(Path.Combine(outDir, "predictions.json")));
    }
}
