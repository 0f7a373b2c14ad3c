using System.Text.Json;
using Distill.Onnx.Protos;
using Distill.Onnx.Runtime;
using Distill.Onnx.Tests.Support;
using Distill.Pose.BottomUp;
using Distill.Pose.BottomUp.Decoding;
using Distill.Pose.BottomUp.Heads;
using Distill.Pose.Models.Backbones;
using Distill.Torch;
using Distill.Torch.Nn;

namespace Distill.Onnx.Tests;

/// <summary>
/// Bottom-up models exported with their CIF and CAF fields as outputs, run in ONNX Runtime in process against
/// libtorch's eval-mode fields: a CSPNeXt whose heads pixel-shuffle by 2 (DepthToSpace and the crop) and a narrow
/// HRFormer on branch 0 (stride 4, no upsampling). The decoder settings travel in the metadata.
/// </summary>
public sealed class BottomupExportTests
{
    private static BottomupPoseEstimator Randomise(BottomupPoseEstimator model, ulong seed = 5)
    {
        using var g = new Generator(seed);
        using var _ = Autograd.NoGrad();
        foreach (var (_, m) in model.NamedModules())
        {
            if (m is not BatchNorm2d bn) continue;
            bn.Weight.Uniform_(0.5, 1.5, g);
            bn.Bias.Normal_(0, 0.1, g);
            bn.RunningMean.Normal_(0, 0.1, g);
            bn.RunningVar.Uniform_(0.5, 1.5, g);
        }
        model.Eval();
        return model;
    }

    private static BottomupPoseEstimator Csp()
    {
        var backbone = new CSPNeXt(0.167, 0.125, [3]);
        return Randomise(new BottomupPoseEstimator(backbone, new CifCafHead(CifCafMeta.Coco(), backbone.OutChannels[0], backbone.OutStrides[0], upsample: 2))
        {
            InputSize = (129, 97),
        });
    }

    private static BottomupPoseEstimator Hrformer() => Randomise(new BottomupPoseEstimator(
        new HRFormer(new HRFormerArch([8, 16, 24, 32], [1, 2, 2, 4], [1, 1, 1], Blocks: 1)),
        new CifCafHead(CifCafMeta.Coco(), 8, 4)) { InputSize = (73, 65) });

    public static TheoryData<string> Models => ["csp", "hrformer"];

    private static BottomupPoseEstimator Build(string name) => name == "csp" ? Csp() : Hrformer();

    [Theory]
    [MemberData(nameof(Models))]
    public void OnnxRuntimeFieldsMatchLibtorch(string name)
    {
        using var model = Build(name);
        var dir = TestData.TempDirectory("bottomup-" + name);
        try
        {
            var path = Path.Combine(dir, name + ".onnx");
            BottomupOnnxExporter.ExportToFile(model, path);
            var (w, h) = model.InputSize;
            using var scope = torch.NewDisposeScope();
            var input = torch.FromArray(TestData.Randn(3, 2, 3, h, w), [2, 3, h, w]);
            Dictionary<string, Tensor> expected;
            using (Autograd.NoGrad()) expected = model.Forward(input);
            using var session = OnnxSession.Load(path);
            var actual = session.Run(input);
            foreach (var field in new[] { "cif", "caf" })
            {
                Expect.Shape(expected[field].Shape, actual[field].Shape, field);
                // Positions carry the cell index (up to ~30 cells here): an absolute 2e-4 is float rounding.
                Expect.Close(expected[field].ToArray<float>(), actual[field].ToArray<float>(), 2e-4, $"{name} {field}");
            }
            long fh = (h - 1) / model.Stride + 1, fw = (w - 1) / model.Stride + 1;
            Assert.Equal([2, 17, 5, fh, fw], actual["cif"].Shape);
            Assert.Equal([2, 19, 8, fh, fw], actual["caf"].Shape);

            // The decoder built from the metadata alone finds the same people in ONNX Runtime's fields.
            var meta = session.Metadata;
            Assert.Equal("bottomup", meta[BottomupOnnxExporter.PoseModel]);
            Assert.Equal(model.Stride.ToString(), meta[BottomupOnnxExporter.Stride]);
            var skeleton = JsonSerializer.Deserialize<int[][]>(meta[BottomupOnnxExporter.CafSkeleton])!.Select(l => (l[0], l[1])).ToList();
            Assert.Equal(CifCafMeta.Coco().Skeleton, skeleton);
            var names = JsonSerializer.Deserialize<string[]>(meta[OnnxMetadata.KeypointNames])!;
            Assert.Equal("left_eye", names[1]);
            var decoderOptions = BottomupOnnxExporter.ParseDecoder(meta[BottomupOnnxExporter.Decoder]);
            Assert.Equal(new CifCafDecoderOptions(), decoderOptions);
            var fromFile = new CifCafMeta(names, JsonSerializer.Deserialize<double[]>(meta[OnnxMetadata.Sigmas])!, skeleton,
                JsonSerializer.Deserialize<int[]>(meta[OnnxMetadata.FlipIndices])!, null, JsonSerializer.Deserialize<double[]>(meta[BottomupOnnxExporter.ScoreWeights]));
            var a = new CifCafDecoder(model.Meta).Decode(expected["cif"], expected["caf"], model.Stride);
            var b = new CifCafDecoder(fromFile, decoderOptions).Decode(actual["cif"], actual["caf"], int.Parse(meta[BottomupOnnxExporter.Stride]));
            Assert.Equal(a.Select(p => p.Count), b.Select(p => p.Count));
            // Random weights may decode to nobody; then only the agreement on that is checked here (the fields above are the real check).
            for (int i = 0; i < a.Count; i++)
                for (int p = 0; p < a[i].Count; p++)
                {
                    Expect.Close(a[i][p].Keypoints, b[i][p].Keypoints, 1e-2, $"{name} image {i} pose {p}");
                    Assert.Equal(a[i][p].Score, b[i][p].Score, 4);
                }
        }
        finally
        {
            TestData.DeleteDirectory(dir);
        }
    }

    [Fact]
    public void DecodeInTheGraphIsRefusedWithTheReason()
    {
        using var model = Csp();
        var e = Assert.Throws<OnnxExportException>(() => BottomupOnnxExporter.Export(model, new OnnxExportOptions { Decode = true }));
        Assert.Contains("--decode", e.Message);
    }

    [Fact]
    public void PixelShuffleIsDepthToSpaceInCrdMode()
    {
        using var model = Csp();
        var proto = BottomupOnnxExporter.Export(model);
        var d2s = proto.Graph.Node.Where(n => n.OpType == "DepthToSpace").ToList();
        Assert.Equal(2, d2s.Count);
        Assert.All(d2s, n => Assert.Equal("CRD", n.Attribute.Single(a => a.Name == "mode").S.ToStringUtf8()));
    }
}
