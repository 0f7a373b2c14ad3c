using Distill.Onnx.Protos;
using Distill.Onnx.Tests.Support;
using Distill.Pose.Codecs;
using Distill.Pose.Models;
using Distill.Pose.Models.Heads;
using Distill.TestSupport;
using Distill.Torch;

namespace Distill.Onnx.Tests;

/// <summary>
/// The ViTPose fixture (mmpretrain ViT + classic heatmap head) exported at every opset 13-17, which covers both
/// LayerNormalization (17) and its decomposition (13-16), plus an unfolded export and an MSRA-codec copy decoded
/// in the graph.
/// </summary>
public sealed class VitExportFixture : IDisposable
{
    public static readonly long[] Shape2 = [2, 3, 256, 192];

    /// <summary>Channels of the MSRA copy whose final-layer filter is zeroed: a constant negative and a constant positive map.</summary>
    public const int NegativeMap = 2, ConstantPositiveMap = 5;

    public TopdownPoseEstimator Model { get; }
    public TopdownPoseEstimator Msra { get; }
    public string Directory { get; }
    public Dictionary<string, ModelProto> Protos { get; } = new();
    public Dictionary<string, Dictionary<string, OrtOutput>> Results { get; }
    public float[] Input { get; }
    public Dictionary<string, float[]> Torch { get; }

    public VitExportFixture()
    {
        Model = PoseModels.VitTiny4();
        Msra = PoseModels.VitTiny4(new MSRAHeatmap((192, 256), (48, 64), 2.0));
        using (Autograd.NoGrad())
        {
            var final = ((HeatmapHead)Msra.Head).FinalLayer;
            final.Weight.Select(0, NegativeMap).Zero_();
            final.Bias!.Select(0, NegativeMap).Fill_(-0.5);
            final.Weight.Select(0, ConstantPositiveMap).Zero_();
            final.Bias!.Select(0, ConstantPositiveMap).Fill_(0.5);
        }
        Directory = TestData.TempDirectory("vit");
        Input = TestData.ReadFloats(SharedData.Fixture(PoseModels.VitFixture, "input.bin"));
        Torch = TestData.Forward(Model, Input, Shape2);

        var exports = new List<(string Name, TopdownPoseEstimator Model, OnnxExportOptions Options)>();
        for (int opset = 13; opset <= 17; opset++) exports.Add(($"op{opset}", Model, new OnnxExportOptions { Opset = opset }));
        exports.Add(("nofold", Model, new OnnxExportOptions { FoldBatchNorm = false, Opset = 16 }));
        exports.Add(("msra", Msra, new OnnxExportOptions { Decode = true }));
        var requests = new List<OrtRequest>();
        foreach (var (name, model, options) in exports)
        {
            string path = Path.Combine(Directory, name + ".onnx");
            OnnxExporter.ExportToFile(model, path, options);
            using (var s = File.OpenRead(path)) Protos[name] = ModelProto.Parser.ParseFrom(s);
            requests.Add(new OrtRequest(name, path, Input, Shape2));
        }
        Results = OrtRunner.Run(requests);
    }

    public void Dispose()
    {
        Model.Dispose();
        Msra.Dispose();
        TestData.DeleteDirectory(Directory);
    }
}

public sealed class VitExportTests(VitExportFixture f) : IClassFixture<VitExportFixture>
{
    [Theory]
    [InlineData(13)]
    [InlineData(14)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(17)]
    public void EveryOpsetMatchesLibtorchAndTheMmposeFixture(int opset)
    {
        var heatmaps = f.Results[$"op{opset}"]["heatmaps"];
        Expect.Shape([2, 17, 64, 48], heatmaps.Shape, "heatmaps");
        Expect.Close(f.Torch["heatmaps"], heatmaps.Data, 1e-3, $"opset {opset} heatmaps vs libtorch");
        Expect.Close(TestData.ReadFloats(SharedData.Fixture(PoseModels.VitFixture, "heatmaps.bin")), heatmaps.Data, 1e-3, $"opset {opset} heatmaps vs mmpose");
    }

    [Theory]
    [InlineData(13, 0)]
    [InlineData(16, 0)]
    [InlineData(17, 9)] // two per encoder layer and the final one
    public void LayerNormalizationIsUsedOnlyFromOpset17(int opset, int expected)
    {
        var nodes = f.Protos[$"op{opset}"].Graph.Node;
        Assert.Equal(expected, nodes.Count(n => n.OpType == "LayerNormalization"));
        if (expected == 0) Assert.Equal(2 * 9, nodes.Count(n => n.OpType == "ReduceMean"));
        Assert.Equal(4, nodes.Count(n => n.OpType == "Erf")); // exact GELU, one per FFN
        Assert.DoesNotContain(nodes, n => n.OpType == "Gelu");
    }

    [Fact]
    public void UnfoldedExportKeepsTheDeconvBatchNorms()
    {
        Assert.Equal(2, f.Protos["nofold"].Graph.Node.Count(n => n.OpType == "BatchNormalization"));
        Assert.DoesNotContain(f.Protos["op17"].Graph.Node, n => n.OpType == "BatchNormalization");
        Expect.Close(f.Torch["heatmaps"], f.Results["nofold"]["heatmaps"].Data, 1e-3, "unfolded heatmaps vs libtorch");
    }

    [Fact]
    public void MsraDecodingInTheGraphEqualsTheCSharpDecoder()
    {
        var r = f.Results["msra"];
        var expected = f.Msra.Codec.Decode(new ShapedArray(r["heatmaps"].Data, 2, 17, 64, 48));
        Expect.Identical(Expect.Flatten(expected.Keypoints), r["keypoints"].Data, "in-graph keypoints vs MSRAHeatmap.Decode");
        Expect.Identical(Expect.Flatten(expected.Scores), r["scores"].Data, "in-graph scores vs MSRAHeatmap.Decode");

        var kp = r["keypoints"].Data;
        for (int b = 0; b < 2; b++)
        {
            // A map with no positive value decodes to (-1, -1) x stride 4; a constant positive map to its first pixel.
            int neg = (b * 17 + VitExportFixture.NegativeMap) * 2, pos = (b * 17 + VitExportFixture.ConstantPositiveMap) * 2;
            Assert.Equal((-4f, -4f), (kp[neg], kp[neg + 1]));
            Assert.Equal(-0.5f, r["scores"].Data[b * 17 + VitExportFixture.NegativeMap], 6);
            Assert.Equal((0f, 0f), (kp[pos], kp[pos + 1]));
        }
        // Most keypoints moved a quarter pixel (x 4 = 1 input pixel) off the integer grid on at least one axis.
        int offGrid = 0;
        for (int i = 0; i < kp.Length; i++) if (kp[i] % 4 != 0) offGrid++;
        Assert.True(offGrid > 17, $"only {offGrid} refined coordinates");
    }

    [Fact]
    public void UdpDecodingIsRefusedWithTheReason()
    {
        var e = Assert.Throws<OnnxExportException>(() => OnnxExporter.Export(f.Model, new OnnxExportOptions { Decode = true }));
        Assert.Contains("UDPHeatmap", e.Message);
        Assert.Contains("DARK-UDP", e.Message);
        Assert.Contains("UDPHeatmap.Decode", e.Message);
    }
}
