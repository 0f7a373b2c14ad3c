using Distill.Onnx.Tests.Support;
using Distill.Pose.Codecs;
using Distill.Pose.Models;
using Distill.Pose.Models.Backbones;
using Distill.Pose.Models.Heads;
using Distill.Torch;
using Distill.Torch.Nn;

namespace Distill.Onnx.Tests;

/// <summary>Refused exports: clear messages naming the module or option, and nothing left on disk.</summary>
public sealed class ExportFailureTests : IDisposable
{
    private readonly string _dir = TestData.TempDirectory("failures");

    public void Dispose() => TestData.DeleteDirectory(_dir);

    /// <summary>softplus(x) = log(1 + exp(x)): a layer the exporter has no emitter for.</summary>
    private sealed class Softplus : Module<Tensor, Tensor>
    {
        public override Tensor Forward(Tensor x)
        {
            using var e = x.Exp();
            using var p = e.Add(1.0);
            return p.Log();
        }
    }

    /// <summary>A conv stack with the unsupported layer in the middle, at backbone.layers.1.</summary>
    private sealed class ProbeBackbone : Backbone
    {
        private readonly Sequential _layers;

        public ProbeBackbone() =>
            _layers = RegisterModule("layers", new Sequential(new Conv2d(3, 8, 3, 32, 1), new Softplus(), new Conv2d(8, 8, 1)));

        public override long[] OutChannels => [8];
        public override int[] OutStrides => [32];
        public override Tensor[] Forward(Tensor x) => [_layers.Forward(x)];
    }

    private static TopdownPoseEstimator Probe() =>
        new(new ProbeBackbone(), new RegressionHead(8, 17), new RegressionLabel((192, 256)), PoseModels.CocoFlip);

    /// <summary>A small supported model (CSPNeXt at widen 0.125 with a regression head).</summary>
    private static TopdownPoseEstimator Tiny() =>
        new(new CSPNeXt(0.167, 0.125), new RegressionHead(128, 17), new RegressionLabel((192, 256)), PoseModels.CocoFlip);

    private string[] FilesLeft() => Directory.GetFileSystemEntries(_dir).Select(Path.GetFileName).ToArray()!;

    [Fact]
    public void UnsupportedModuleIsNamedByPathAndTypeAndNothingIsWritten()
    {
        using var model = Probe();
        string path = Path.Combine(_dir, "probe.onnx");
        var e = Assert.Throws<OnnxExportException>(() => OnnxExporter.ExportToFile(model, path));
        Assert.Contains("module 'backbone.layers.1' of type Softplus has no ONNX emitter", e.Message);
        Assert.Contains("module 'backbone' of type ProbeBackbone has no ONNX emitter", e.Message);
        // Supported children are not reported.
        Assert.DoesNotContain("'backbone.layers.0'", e.Message);
        Assert.Empty(FilesLeft());
    }

    [Fact]
    public void RefusedExportKeepsThePreviousFile()
    {
        string path = Path.Combine(_dir, "model.onnx");
        File.WriteAllText(path, "previous export");
        using var model = Probe();
        Assert.Throws<OnnxExportException>(() => OnnxExporter.ExportToFile(model, path));
        Assert.Equal("previous export", File.ReadAllText(path));
        Assert.Equal(["model.onnx"], FilesLeft());
    }

    [Fact]
    public void FailedWriteRemovesTheTemporaryFile()
    {
        // The target is a non-empty directory: the model is written to the temporary file, then the rename fails.
        string path = Path.Combine(_dir, "taken.onnx");
        Directory.CreateDirectory(path);
        File.WriteAllText(Path.Combine(path, "keep.txt"), "x");
        using var model = Tiny();
        var e = Assert.Throws<OnnxExportException>(() => OnnxExporter.ExportToFile(model, path));
        Assert.Contains(path, e.Message);
        Assert.Equal(["taken.onnx"], FilesLeft());
        Assert.True(File.Exists(Path.Combine(path, "keep.txt")));
    }

    [Fact]
    public void MissingDirectoryFailsWithoutLeavingFiles()
    {
        using var model = Tiny();
        string path = Path.Combine(_dir, "missing", "model.onnx");
        Assert.Throws<OnnxExportException>(() => OnnxExporter.ExportToFile(model, path));
        Assert.Empty(FilesLeft());
    }

    [Theory]
    [InlineData(12)]
    [InlineData(18)]
    public void OpsetsOutside13To17AreRefused(int opset)
    {
        using var model = Tiny();
        var e = Assert.Throws<OnnxExportException>(() => OnnxExporter.Export(model, new OnnxExportOptions { Opset = opset }));
        Assert.Contains($"opset {opset} is not supported (use 13 to 17)", e.Message);
    }

    [Fact]
    public void EveryProblemIsListedAtOnce()
    {
        using var model = Tiny();
        var options = new OnnxExportOptions
        {
            StaticBatch = 0,
            Pose = new PoseExportMetadata { KeypointNames = ["nose", "left_eye", "right_eye"], Skeleton = [(0, 17)], Mean = [1, 2] },
            Metadata = new Dictionary<string, string> { ["codec"] = "mine", ["author"] = "someone" },
        };
        var e = Assert.Throws<OnnxExportException>(() => OnnxExporter.Export(model, options));
        Assert.Contains("static batch size must be at least 1, got 0", e.Message);
        Assert.Contains("3 keypoint names for a model of 17 keypoints", e.Message);
        Assert.Contains("skeleton link (0, 17) refers to a keypoint outside 0..16", e.Message);
        Assert.Contains("metadata mean has 2 values", e.Message);
        Assert.Contains("metadata key 'codec' is written by the exporter", e.Message);
        Assert.DoesNotContain("'author'", e.Message);
    }

    [Fact]
    public void DarkDecodingIsRefused()
    {
        using var model = new TopdownPoseEstimator(new CSPNeXt(0.167, 0.125), new HeatmapHead(128, 17, [32, 32, 32]),
            new MSRAHeatmap((192, 256), (48, 64), 2.0, unbiased: true), PoseModels.CocoFlip);
        var e = Assert.Throws<OnnxExportException>(() => OnnxExporter.Export(model, new OnnxExportOptions { Decode = true }));
        Assert.Contains("unbiased (DARK)", e.Message);
        // Without decoding the same model exports.
        Assert.Equal(["heatmaps"], OnnxExporter.Export(model).Graph.Output.Select(o => o.Name));
    }

    [Fact]
    public void ExtraMetadataIsWrittenAfterTheExportersOwn()
    {
        using var model = Tiny();
        var proto = OnnxExporter.Export(model, new OnnxExportOptions { Metadata = new Dictionary<string, string> { ["author"] = "someone" } });
        Assert.Equal("someone", proto.MetadataProps.Single(p => p.Key == "author").Value);
        Assert.Equal("CSPNeXt+RegressionHead", proto.MetadataProps.Single(p => p.Key == "architecture").Value);
    }
}
