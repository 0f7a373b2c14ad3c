using Distill.Onnx.Protos;
using Distill.Onnx.Tests.Support;
using Distill.Pose.Codecs;
using Distill.Pose.Models;
using Distill.Pose.Models.Backbones;
using Distill.Pose.Models.Heads;
using Distill.TestSupport;
using Distill.Torch;
using Distill.Torch.Serialization;

namespace Distill.Onnx.Tests;

/// <summary>
/// The HRFormer-S fixture (mmpose's model with random weights, loaded from its .pth) exported at opset 17
/// (LayerNormalization), at opset 13 (its decomposition) and without BN folding, run in ONNX Runtime on the fixture
/// input; plus a narrow HRFormer at an input size whose branches are odd (the fuse resize to an exact size).
/// </summary>
public sealed class HRFormerExportFixture : IDisposable
{
    public const string Name = "hrformer-small_coco_256x192";
    public static readonly long[] Shape2 = [2, 3, 256, 192];
    public static readonly long[] OddShape = [2, 3, 100, 76];

    public TopdownPoseEstimator Model { get; }
    public TopdownPoseEstimator Odd { get; }
    public string Directory { get; }
    public Dictionary<string, ModelProto> Protos { get; } = new();
    public Dictionary<string, Dictionary<string, OrtOutput>> Results { get; }
    public float[] Input { get; }
    public float[] OddInput { get; }
    public Dictionary<string, float[]> Torch { get; }
    public Dictionary<string, float[]> OddTorch { get; }

    public HRFormerExportFixture()
    {
        Model = new TopdownPoseEstimator(new HRFormer(HRFormerArch.Small), new HeatmapHead(32, 17, []),
            new MSRAHeatmap((192, 256), (48, 64), 2.0), PoseModels.CocoFlip);
        var sd = StateDictLoader.LoadStateDict(SharedData.Fixture(Name, Name + ".pth"));
        try
        {
            Model.LoadStateDict(sd);
        }
        finally
        {
            sd.DisposeTensors();
        }
        Model.Eval();
        // 100 x 76 gives branches of 25x19, 13x10, 7x5 and 4x3: no branch is twice the next.
        Odd = PoseModels.Randomise(new TopdownPoseEstimator(
            new HRFormer(new HRFormerArch([8, 16, 24, 32], [1, 2, 2, 4], [1, 1, 1], Blocks: 1)), new HeatmapHead(8, 5, []),
            new MSRAHeatmap((76, 100), (19, 25), 2.0), [0, 2, 1, 4, 3]));

        Directory = TestData.TempDirectory("hrformer");
        Input = TestData.ReadFloats(SharedData.Fixture(Name, "input.bin"));
        OddInput = TestData.Randn(11, OddShape);
        Torch = TestData.Forward(Model, Input, Shape2);
        OddTorch = TestData.Forward(Odd, OddInput, OddShape);

        var exports = new List<(string Name, TopdownPoseEstimator Model, OnnxExportOptions Options, float[] Input, long[] Shape)>
        {
            ("op17", Model, new OnnxExportOptions { Opset = 17 }, Input, Shape2),
            ("op13", Model, new OnnxExportOptions { Opset = 13 }, Input, Shape2),
            ("nofold", Model, new OnnxExportOptions { Opset = 17, FoldBatchNorm = false }, Input, Shape2),
            ("odd", Odd, new OnnxExportOptions(), OddInput, OddShape),
        };
        var requests = new List<OrtRequest>();
        foreach (var (name, model, options, input, shape) in exports)
        {
            string path = Path.Combine(Directory, name + ".onnx");
            OnnxExporter.ExportToFile(model, path, options);
            using (var s = File.OpenRead(path)) Protos[name] = ModelProto.Parser.ParseFrom(s);
            requests.Add(new OrtRequest(name, path, input, shape));
        }
        Results = OrtRunner.Run(requests);
    }

    public void Dispose()
    {
        Model.Dispose();
        Odd.Dispose();
        TestData.DeleteDirectory(Directory);
    }
}

public sealed class HRFormerExportTests(HRFormerExportFixture f) : IClassFixture<HRFormerExportFixture>
{
    [Theory]
    [InlineData("op17")]
    [InlineData("op13")]
    [InlineData("nofold")]
    public void OnnxRuntimeMatchesLibtorchAndTheMmposeFixture(string key)
    {
        var heatmaps = f.Results[key]["heatmaps"];
        Expect.Shape([2, 17, 64, 48], heatmaps.Shape, "heatmaps");
        Expect.Close(f.Torch["heatmaps"], heatmaps.Data, 1e-3, $"{key} heatmaps vs libtorch");
        Expect.Close(TestData.ReadFloats(SharedData.Fixture(HRFormerExportFixture.Name, "heatmaps.bin")), heatmaps.Data, 1e-3,
            $"{key} heatmaps vs mmpose");
    }

    [Fact]
    public void GraphUsesTheExpectedOperators()
    {
        var op17 = f.Protos["op17"].Graph.Node;
        // 2 blocks per branch: stage 2 has 2 branches x 1 module, stage 3 3 x 4, stage 4 4 x 2: 22 branch runs, 44 blocks.
        Assert.Equal(2 * 44, op17.Count(n => n.OpType == "LayerNormalization"));
        Assert.Equal(44, op17.Count(n => n.OpType == "Softmax"));
        Assert.Equal(3 * 44, op17.Count(n => n.OpType == "Erf"));
        // Every branch at 256x192 is padded to whole windows (64x48, 32x24, 16x12 and 8x6 are not multiples of 7).
        Assert.Equal(44, op17.Count(n => n.OpType == "Pad"));
        Assert.DoesNotContain(op17, n => n.OpType == "BatchNormalization");
        Assert.Equal(0, f.Protos["op13"].Graph.Node.Count(n => n.OpType == "LayerNormalization"));
        Assert.Contains(f.Protos["nofold"].Graph.Node, n => n.OpType == "BatchNormalization");
        // Fuse upsampling: rows 0-2 of stage 2 (1), stage 3 (3 per module) and stage 4 (6, then 3 for row 0 alone).
        Assert.Equal(1 + 3 * 4 + 6 + 3, op17.Count(n => n.OpType == "Resize"));
    }

    [Fact]
    public void OddBranchSizesExportToo()
    {
        var heatmaps = f.Results["odd"]["heatmaps"];
        Expect.Shape([2, 5, 25, 19], heatmaps.Shape, "heatmaps");
        Expect.Close(f.OddTorch["heatmaps"], heatmaps.Data, 1e-3, "odd-size heatmaps vs libtorch");
    }
}
