using Distill.Onnx.Protos;
using Distill.Onnx.Tests.Support;
using Distill.Pose.Codecs;
using Distill.Pose.Models;
using Distill.Pose.Models.Backbones;
using Distill.Pose.Models.Heads;
using Distill.Torch;

namespace Distill.Onnx.Tests;

/// <summary>
/// Randomly initialised students in the layouts training produces: a 21-keypoint unified SimCC student, RTMPose
/// at MPII's 256x256 (16 keypoints, 8x8 feature map), a regression student, and a ViT with the "simple" heatmap
/// decoder (bilinear x4 upsample). All run in ONNX Runtime in this process.
/// </summary>
public sealed class StudentExportFixture : IDisposable
{
    public static readonly long[] Coco2 = [2, 3, 256, 192];
    public static readonly long[] Mpii2 = [2, 3, 256, 256];
    public static readonly long[] Square1 = [1, 3, 256, 256];

    /// <summary>Keypoints of the unified student whose final-layer filters are zeroed, so their tokens and logits are exactly 0.</summary>
    public static readonly int[] SilentKeypoints = [3, 17];

    public Dictionary<string, TopdownPoseEstimator> Models { get; } = new();
    public Dictionary<string, ModelProto> Protos { get; } = new();
    public Dictionary<string, Dictionary<string, float[]>> Torch { get; } = new();
    public Dictionary<string, Dictionary<string, OrtOutput>> Results { get; }
    public string Directory { get; }
    public float[] CocoInput { get; } = TestData.Randn(11, Coco2);
    public float[] MpiiInput { get; } = TestData.Randn(12, Mpii2);

    public StudentExportFixture()
    {
        Directory = TestData.TempDirectory("students");
        var unified = PoseModels.SimccStudent(21, (192, 256), (4.9, 5.66));
        using (Autograd.NoGrad())
        {
            var final = ((RTMCCHead)unified.Head).FinalLayer;
            foreach (var k in SilentKeypoints)
            {
                final.Weight.Select(0, k).Zero_();
                final.Bias!.Select(0, k).Zero_();
            }
        }
        Models["unified21"] = unified;
        Models["mpii"] = PoseModels.SimccStudent(16, (256, 256), (5.66, 5.66));
        Models["regression"] = PoseModels.Randomise(new TopdownPoseEstimator(
            new CSPNeXt(0.167, 0.375), new RegressionHead(384, 17), new RegressionLabel((192, 256)), PoseModels.CocoFlip));
        Models["vit-simple"] = PoseModels.Randomise(new TopdownPoseEstimator(
            new VisionTransformer(96, 2, 3, 192, (192, 256)), new HeatmapHead(96, 17, simpleUpsample: true),
            new MSRAHeatmap((192, 256), (48, 64), 2.0), PoseModels.CocoFlip));
        // Position embedding trained for 256x192 (16 x 12 patches), exported at 256x256 (16 x 16 patches).
        Models["vit-resized"] = PoseModels.Randomise(new TopdownPoseEstimator(
            new VisionTransformer(96, 1, 3, 192, (192, 256)), new RegressionHead(96, 17),
            new RegressionLabel((256, 256)), PoseModels.CocoFlip));
        // A unit-scale embedding (instead of std 0.02) makes the outputs depend on it clearly.
        using (Autograd.NoGrad()) ((VisionTransformer)Models["vit-resized"].Backbone).PosEmbed.Normal_(0, 1);

        var exports = new (string Name, string Model, OnnxExportOptions Options, float[] Input, long[] Shape)[]
        {
            ("unified21", "unified21", new OnnxExportOptions { Decode = true }, CocoInput, Coco2),
            ("mpii", "mpii", new OnnxExportOptions(), MpiiInput, Mpii2),
            ("regression", "regression", new OnnxExportOptions(), CocoInput, Coco2),
            ("regression-decode", "regression", new OnnxExportOptions { Decode = true }, CocoInput, Coco2),
            ("vit-simple", "vit-simple", new OnnxExportOptions { Opset = 13 }, CocoInput, Coco2),
            ("vit-resized", "vit-resized", new OnnxExportOptions(), TestData.Take(MpiiInput, Mpii2, 1), Square1),
        };
        var requests = new List<OrtRequest>();
        foreach (var (name, model, options, input, shape) in exports)
        {
            string path = Path.Combine(Directory, name + ".onnx");
            OnnxExporter.ExportToFile(Models[model], path, options);
            using (var s = File.OpenRead(path)) Protos[name] = ModelProto.Parser.ParseFrom(s);
            Torch[name] = TestData.Forward(Models[model], input, shape);
            requests.Add(new OrtRequest(name, path, input, shape));
        }
        Results = OrtRunner.Run(requests);
    }

    public void Dispose()
    {
        foreach (var m in Models.Values) m.Dispose();
        TestData.DeleteDirectory(Directory);
    }
}

public sealed class StudentExportTests(StudentExportFixture f) : IClassFixture<StudentExportFixture>
{
    [Fact]
    public void UnifiedStudentWith21KeypointsMatchesLibtorch()
    {
        var r = f.Results["unified21"];
        Expect.Shape([2, 21, 384], r["simcc_x"].Shape, "simcc_x");
        Expect.Shape([2, 21, 512], r["simcc_y"].Shape, "simcc_y");
        Expect.Close(f.Torch["unified21"]["simcc_x"], r["simcc_x"].Data, 1e-3, "simcc_x");
        Expect.Close(f.Torch["unified21"]["simcc_y"], r["simcc_y"].Data, 1e-3, "simcc_y");
    }

    [Fact]
    public void SimccDecodingMarksNonPositiveScoresInvalidLikeTheCSharpDecoder()
    {
        var r = f.Results["unified21"];
        var expected = f.Models["unified21"].Codec.Decode(new ShapedArray(r["simcc_x"].Data, 2, 21, 384), new ShapedArray(r["simcc_y"].Data, 2, 21, 512));
        Expect.Identical(Expect.Flatten(expected.Keypoints), r["keypoints"].Data, "in-graph keypoints vs SimCCLabel.Decode");
        Expect.Identical(Expect.Flatten(expected.Scores), r["scores"].Data, "in-graph scores vs SimCCLabel.Decode");
        // A zeroed filter gives all-zero logits: score 0, so the keypoint sits at bin -1, i.e. -1 / 2 on both axes.
        for (int b = 0; b < 2; b++)
        {
            for (int k = 0; k < 21; k++)
            {
                float x = r["keypoints"].Data[(b * 21 + k) * 2], score = r["scores"].Data[b * 21 + k];
                if (StudentExportFixture.SilentKeypoints.Contains(k)) Assert.Equal((-0.5f, 0f), (x, score));
                else Assert.True(score > 0 && x >= 0, $"keypoint {k} of sample {b}: x {x}, score {score}");
            }
        }
    }

    [Fact]
    public void MpiiLayoutAt256x256Exports()
    {
        var r = f.Results["mpii"];
        Expect.Shape([2, 16, 512], r["simcc_x"].Shape, "simcc_x");
        Expect.Shape([2, 16, 512], r["simcc_y"].Shape, "simcc_y");
        Assert.Equal([256L, 256], f.Protos["mpii"].Graph.Input.Single().Type.TensorType.Shape.Dim.Skip(2).Select(d => d.DimValue));
        Expect.Close(f.Torch["mpii"]["simcc_x"], r["simcc_x"].Data, 1e-3, "simcc_x");
        Expect.Close(f.Torch["mpii"]["simcc_y"], r["simcc_y"].Data, 1e-3, "simcc_y");
        // The head's final conv sees the 8x8 map: its ScaleNorm + Linear takes 64 inputs.
        var mlp = f.Protos["mpii"].Graph.Initializer.Single(t => t.Name == "head.mlp.1.weight_t");
        Assert.Equal([64L, 256], mlp.Dims);
    }

    [Fact]
    public void RegressionStudentAndItsDecodingMatch()
    {
        var raw = f.Results["regression"]["keypoints"];
        Expect.Shape([2, 17, 2], raw.Shape, "normalised keypoints");
        Expect.Close(f.Torch["regression"]["keypoints"], raw.Data, 1e-4, "normalised keypoints vs libtorch");

        var decoded = f.Results["regression-decode"];
        Assert.Equal(["keypoints", "scores"], f.Protos["regression-decode"].Graph.Output.Select(o => o.Name));
        var expected = f.Models["regression"].Codec.Decode(new ShapedArray(raw.Data, 2, 17, 2));
        Expect.Identical(Expect.Flatten(expected.Keypoints), decoded["keypoints"].Data, "in-graph keypoints vs RegressionLabel.Decode");
        Expect.Identical(Expect.Flatten(expected.Scores), decoded["scores"].Data, "scores");
        Expect.Shape([2, 17], decoded["scores"].Shape, "scores");
    }

    [Fact]
    public void SimpleHeatmapDecoderUpsamplesLikePyTorch()
    {
        var r = f.Results["vit-simple"];
        Expect.Shape([2, 17, 64, 48], r["heatmaps"].Shape, "heatmaps");
        Assert.Single(f.Protos["vit-simple"].Graph.Node, n => n.OpType == "Resize");
        Expect.Close(f.Torch["vit-simple"]["heatmaps"], r["heatmaps"].Data, 1e-3, "heatmaps vs libtorch");
    }

    [Fact]
    public void PositionEmbeddingIsResizedOnceForAnotherInputSize()
    {
        var pos = f.Protos["vit-resized"].Graph.Initializer.Single(t => t.Name.StartsWith("backbone.pos_embed", StringComparison.Ordinal));
        Assert.Equal("backbone.pos_embed_resized", pos.Name);
        Assert.Equal([1L, 16 * 16, 96], pos.Dims);
        Expect.Close(f.Torch["vit-resized"]["keypoints"], f.Results["vit-resized"]["keypoints"].Data, 1e-4, "keypoints vs libtorch");
    }
}
