using Distill.Onnx.Runtime;
using Distill.Onnx.Tests.Support;
using Distill.Pose.BottomUp;
using Distill.Pose.BottomUp.Heads;
using Distill.Pose.Models.Backbones;
using Distill.Torch;
using Distill.Torch.Nn;
using Google.Protobuf;
using Xunit.Abstractions;

namespace Distill.Onnx.Tests;

/// <summary>
/// A bottom-up HRFormer whose heads read all four branches, each resized to branch 0 and concatenated
/// (input_transform resize_concat), exported at both supported opsets and run in ONNX Runtime against libtorch.
/// The input 73 x 65 gives branches of 17 x 19, 9 x 10, 5 x 5 and 3 x 3 cells, so every resize has a factor that is
/// not a whole number and the half-pixel convention shows.
/// </summary>
public sealed class BottomupResizeConcatExportTests(ITestOutputHelper output)
{
    private static readonly long[] Widths = [8, 16, 24, 32];

    private static BottomupPoseEstimator Model()
    {
        torch.ManualSeed(11);
        var backbone = new HRFormer(new HRFormerArch(Widths, [1, 2, 2, 4], [1, 1, 1], Blocks: 1), multiscaleOutput: true);
        var model = new BottomupPoseEstimator(backbone, new CifCafHead(CifCafMeta.Coco(), Widths.Sum(), 4, input: FeatureInput.ResizeConcat))
        {
            InputSize = (73, 65),
        };
        using var g = new Generator(5);
        using var _ = Autograd.NoGrad();
        foreach (var (name, m) in model.NamedModules())
        {
            // mmpose's N(0, 0.001) convolutions would leave the low-resolution branches too faint to test their resize.
            // Unit-variance-preserving N(0, 1 / fan_in) keeps every map's values of order one.
            if (m is Conv2d conv && name.StartsWith("backbone", StringComparison.Ordinal))
                conv.Weight.Normal_(0, 1 / Math.Sqrt(conv.Weight.Size(1) * conv.Weight.Size(2) * conv.Weight.Size(3)), g);
            if (m is not BatchNorm2d bn) continue;
            bn.Weight.Uniform_(0.5, 1.5, g);
            bn.Bias.Normal_(0, 0.1, g);
            bn.RunningMean.Normal_(0, 0.1, g);
            bn.RunningVar.Uniform_(0.5, 1.5, g);
        }
        model.Eval();
        return model;
    }

    [Theory]
    [InlineData(13)]
    [InlineData(17)]
    public void OnnxRuntimeFieldsMatchLibtorch(int opset)
    {
        using var model = Model();
        var proto = BottomupOnnxExporter.Export(model, new OnnxExportOptions { Opset = opset });
        Assert.Equal(opset, proto.OpsetImport.Single(o => o.Domain.Length == 0).Version);
        // Three branches resized in the head (besides the fuse layers' own), and one concatenation of all four.
        var headResizes = proto.Graph.Node.Where(n => n.OpType == "Resize" && n.Name.StartsWith("head", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, headResizes.Count);
        Assert.All(headResizes, n =>
        {
            Assert.Equal("linear", n.Attribute.Single(a => a.Name == "mode").S.ToStringUtf8());
            Assert.Equal("pytorch_half_pixel", n.Attribute.Single(a => a.Name == "coordinate_transformation_mode").S.ToStringUtf8());
        });

        var (w, h) = model.InputSize;
        using var scope = torch.NewDisposeScope();
        var input = torch.FromArray(TestData.Randn(3, 2, 3, h, w), [2, 3, h, w]);
        Dictionary<string, Tensor> expected;
        Tensor[] features;
        using (Autograd.NoGrad())
        {
            expected = model.Forward(input);
            features = model.Backbone.Forward(input);
        }
        Assert.Equal([[2, 8, 17, 19], [2, 16, 9, 10], [2, 24, 5, 5], [2, 32, 3, 3]], features.Select(f => f.Shape).ToArray());
        using var session = OnnxSession.FromBytes(proto.ToByteArray(), $"resize_concat opset {opset}");
        var actual = session.Run(input);
        double worst = 0;
        foreach (var field in new[] { "cif", "caf" })
        {
            Expect.Shape(expected[field].Shape, actual[field].Shape, field);
            // Float rounding on positions of up to ~19 cells; the measured worst difference is about 1e-5.
            Expect.Close(expected[field].ToArray<float>(), actual[field].ToArray<float>(), 2e-4, $"opset {opset} {field}");
            worst = Math.Max(worst, MaxDiff(expected[field], actual[field]));
        }
        Assert.Equal([2, 17, 5, 17, 19], actual["cif"].Shape);
        output.WriteLine($"opset {opset}: worst |ORT - libtorch| {worst:G3}");

        // The check can tell the resize conventions apart: the same head over maps resized with corner alignment
        // gives fields far outside the tolerance.
        using (Autograd.NoGrad())
        {
            var size = (features[0].Size(2), features[0].Size(3));
            var aligned = torch.Cat(features.Select((f, i) => i == 0 ? f : Functional.Interpolate(f, size, InterpolationMode.Bilinear, alignCorners: true)).ToList(), 1);
            var other = model.Head.Cif.Forward(aligned);
            Assert.True(MaxDiff(other, actual["cif"]) > 100 * Math.Max(worst, 1e-5), $"corner-aligned resize differs by only {MaxDiff(other, actual["cif"]):G3}");
        }
    }

    [Fact]
    public void ResizeConcatOfOneMapIsTheMapItself()
    {
        var graph = new Graph.OnnxGraph(17, "one");
        Assert.Equal("x", BottomupOnnxExporter.ResizeConcat(graph, ["x"], "head"));
    }

    private static double MaxDiff(Tensor a, Tensor b)
    {
        var x = a.ToArray<float>();
        var y = b.ToArray<float>();
        double worst = 0;
        for (int i = 0; i < x.Length; i++) worst = Math.Max(worst, Math.Abs((double)x[i] - y[i]));
        return worst;
    }
}

/// <summary><see cref="OnnxBottomupModel.IsBottomup"/> reads the metadata past the weights without loading the model.</summary>
public sealed class OnnxBottomupDetectionTests
{
    [Fact]
    public void OnlyABottomupExportIsRecognised()
    {
        var dir = TestData.TempDirectory("bottomup-detect");
        try
        {
            var backbone = new CSPNeXt(0.167, 0.125, [3]);
            using var bottomup = new BottomupPoseEstimator(backbone, new CifCafHead(CifCafMeta.Coco(), backbone.OutChannels[0], backbone.OutStrides[0]))
            {
                InputSize = (65, 65),
            };
            bottomup.Eval();
            var bu = Path.Combine(dir, "bu.onnx");
            BottomupOnnxExporter.ExportToFile(bottomup, bu);
            using var topdown = PoseModels.SimccStudent(17, (64, 64), (2, 2));
            var td = Path.Combine(dir, "td.onnx");
            OnnxExporter.ExportToFile(topdown, td);
            var garbage = Path.Combine(dir, "garbage.onnx");
            File.WriteAllBytes(garbage, [0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3]);

            Assert.True(OnnxBottomupModel.IsBottomup(bu));
            Assert.False(OnnxBottomupModel.IsBottomup(td));
            Assert.False(OnnxBottomupModel.IsBottomup(garbage));
            Assert.False(OnnxBottomupModel.IsBottomup(Path.Combine(dir, "missing.onnx")));
            // The file is read as ONNX Runtime reads it: the same metadata, the decoder rebuilt from it.
            using var model = OnnxBottomupModel.Load(bu);
            Assert.Equal(backbone.OutStrides[0], model.Stride);
            Assert.Equal(CifCafMeta.Coco().Skeleton, model.Meta.Skeleton);
            Assert.Equal(CifCafMeta.Coco().ScoreWeights, model.Meta.ScoreWeights);
            Assert.Equal(bottomup.DecoderOptions, model.DecoderOptions);
            Assert.Equal(model.Meta.Skeleton.Select(l => (l.A, l.B)), model.Skeleton.Select(l => (l.From, l.To)));
        }
        finally
        {
            TestData.DeleteDirectory(dir);
        }
    }
}
