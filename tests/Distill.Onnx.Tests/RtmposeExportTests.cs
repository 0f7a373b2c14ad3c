using System.Text.Json;
using Distill.Onnx.Protos;
using Distill.Onnx.Runtime;
using Distill.Onnx.Tests.Support;
using Distill.Pose.Codecs;
using Distill.Pose.Models;
using Distill.TestSupport;
using Distill.Torch.Nn;

namespace Distill.Onnx.Tests;

/// <summary>
/// RTMPose-t with mmpose's fixture weights, exported once per variant (opsets 13-17, decoded, edge-safe, unfolded
/// BatchNorm, static batch) and run in ONNX Runtime in this process.
/// </summary>
public sealed class RtmposeExportFixture : IDisposable
{
    public static readonly long[] Shape2 = [2, 3, 256, 192];
    public static readonly long[] Shape1 = [1, 3, 256, 192];
    public static readonly long[] Shape3 = [3, 3, 256, 192];

    public TopdownPoseEstimator Model { get; }
    public string Directory { get; }
    public Dictionary<string, string> Files { get; } = new();
    public Dictionary<string, ModelProto> Protos { get; } = new();
    public Dictionary<string, Dictionary<string, OrtOutput>> Results { get; }

    public float[] Input2 { get; }
    public float[] Input1 { get; }
    public float[] Input3 { get; }
    public Dictionary<string, float[]> Torch2 { get; }
    public Dictionary<string, float[]> Torch1 { get; }
    public Dictionary<string, float[]> Torch3 { get; }
    public float[] StateBefore { get; }
    public int BatchNormModules { get; }

    public static readonly PoseExportMetadata Metadata = new()
    {
        KeypointNames = ["nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder", "left_elbow",
            "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle"],
        Skeleton = [(15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6)],
    };

    public RtmposeExportFixture()
    {
        Model = PoseModels.RtmposeT();
        BatchNormModules = Model.NamedModules().Count(m => m.Module is BatchNorm2d);
        Directory = TestData.TempDirectory("rtmpose");
        Input2 = TestData.ReadFloats(SharedData.Fixture(PoseModels.RtmposeFixture, "input.bin"));
        Input1 = TestData.Take(Input2, Shape2, 1);
        Input3 = TestData.Randn(3, Shape3);
        Torch2 = TestData.Forward(Model, Input2, Shape2);
        Torch1 = TestData.Forward(Model, Input1, Shape1);
        Torch3 = TestData.Forward(Model, Input3, Shape3);
        StateBefore = Snapshot(Model);

        var variants = new Dictionary<string, OnnxExportOptions>();
        for (int opset = 13; opset <= 17; opset++) variants[$"op{opset}"] = new OnnxExportOptions { Opset = opset, Pose = Metadata };
        variants["decode"] = new OnnxExportOptions { Decode = true };
        variants["edge"] = new OnnxExportOptions { EdgeSafe = true };
        variants["nofold"] = new OnnxExportOptions { FoldBatchNorm = false };
        variants["static2"] = new OnnxExportOptions { StaticBatch = 2 };
        var requests = new List<OrtRequest>();
        foreach (var (name, options) in variants)
        {
            string path = Path.Combine(Directory, name + ".onnx");
            OnnxExporter.ExportToFile(Model, path, options);
            Files[name] = path;
            using (var s = File.OpenRead(path)) Protos[name] = ModelProto.Parser.ParseFrom(s);
            requests.Add(new OrtRequest(name, path, Input2, Shape2));
        }
        requests.Add(new OrtRequest("op17-b1", Files["op17"], Input1, Shape1));
        requests.Add(new OrtRequest("op17-b3", Files["op17"], Input3, Shape3));
        Results = OrtRunner.Run(requests);
    }

    /// <summary>Every parameter and buffer value, in state-dict order.</summary>
    public static float[] Snapshot(TopdownPoseEstimator model) =>
        model.StateDict().Where(kv => kv.Value.DType == Distill.Torch.DType.Float32).SelectMany(kv => kv.Value.Contiguous().ToArray<float>()).ToArray();

    public void Dispose()
    {
        Model.Dispose();
        TestData.DeleteDirectory(Directory);
    }
}

public sealed class RtmposeExportTests(RtmposeExportFixture f) : IClassFixture<RtmposeExportFixture>
{
    private static float[] FixtureBin(string name) => TestData.ReadFloats(SharedData.Fixture(PoseModels.RtmposeFixture, name));

    [Theory]
    [InlineData(13)]
    [InlineData(14)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(17)]
    public void EveryOpsetMatchesLibtorchAndTheMmposeFixture(int opset)
    {
        var r = f.Results[$"op{opset}"];
        Expect.Shape([2, 17, 384], r["simcc_x"].Shape, "simcc_x");
        Expect.Shape([2, 17, 512], r["simcc_y"].Shape, "simcc_y");
        Expect.Close(f.Torch2["simcc_x"], r["simcc_x"].Data, 1e-3, $"opset {opset} simcc_x vs libtorch");
        Expect.Close(f.Torch2["simcc_y"], r["simcc_y"].Data, 1e-3, $"opset {opset} simcc_y vs libtorch");
        Expect.Close(FixtureBin("simcc_x.bin"), r["simcc_x"].Data, 1e-3, $"opset {opset} simcc_x vs mmpose");
        Expect.Close(FixtureBin("simcc_y.bin"), r["simcc_y"].Data, 1e-3, $"opset {opset} simcc_y vs mmpose");
        Assert.Equal(opset, f.Protos[$"op{opset}"].OpsetImport.Single().Version);
    }

    [Fact]
    public void OneDynamicBatchFileRunsBatchesOfOneAndThree()
    {
        var input = f.Protos["op17"].Graph.Input.Single();
        Assert.Equal(OnnxExporter.BatchSymbol, input.Type.TensorType.Shape.Dim[0].DimParam);
        foreach (var (key, torch, n) in new[] { ("op17-b1", f.Torch1, 1L), ("op17-b3", f.Torch3, 3L) })
        {
            var r = f.Results[key];
            Expect.Shape([n, 17, 384], r["simcc_x"].Shape, key);
            Expect.Shape([n, 17, 512], r["simcc_y"].Shape, key);
            Expect.Close(torch["simcc_x"], r["simcc_x"].Data, 1e-3, key + " simcc_x");
            Expect.Close(torch["simcc_y"], r["simcc_y"].Data, 1e-3, key + " simcc_y");
        }
    }

    [Fact]
    public void StaticBatchFixesTheInputAndOutputSizes()
    {
        var graph = f.Protos["static2"].Graph;
        Assert.Equal([2L, 3, 256, 192], graph.Input.Single().Type.TensorType.Shape.Dim.Select(d => d.DimValue));
        Assert.All(graph.Output, o => Assert.Equal(2L, o.Type.TensorType.Shape.Dim[0].DimValue));
        Expect.Close(f.Torch2["simcc_x"], f.Results["static2"]["simcc_x"].Data, 1e-3, "static batch simcc_x");
    }

    [Fact]
    public void DecodedKeypointsEqualTheCSharpDecoderAndMmpose()
    {
        var r = f.Results["decode"];
        Assert.Equal(["simcc_x", "simcc_y", "keypoints", "scores"], f.Protos["decode"].Graph.Output.Select(o => o.Name));
        var expected = f.Model.Codec.Decode(new ShapedArray(r["simcc_x"].Data, 2, 17, 384), new ShapedArray(r["simcc_y"].Data, 2, 17, 512));
        Expect.Shape([2, 17, 2], r["keypoints"].Shape, "keypoints");
        Expect.Shape([2, 17], r["scores"].Shape, "scores");
        Expect.Identical(Expect.Flatten(expected.Keypoints), r["keypoints"].Data, "in-graph keypoints vs SimCCLabel.Decode");
        Expect.Identical(Expect.Flatten(expected.Scores), r["scores"].Data, "in-graph scores vs SimCCLabel.Decode");

        // mmpose decoded its own logits; the arg-max margins (>= 0.0105) exceed the 1e-3 logit tolerance, so the
        // decoded bins agree exactly.
        using var json = JsonDocument.Parse(File.ReadAllText(SharedData.Fixture(PoseModels.RtmposeFixture, "fixture.json")));
        var mmpose = json.RootElement.GetProperty("decoded").GetProperty("codec").GetProperty("keypoints")
            .EnumerateArray().SelectMany(b => b.EnumerateArray().SelectMany(k => k.EnumerateArray().Select(v => v.GetSingle()))).ToArray();
        Expect.Identical(mmpose, r["keypoints"].Data, "in-graph keypoints vs mmpose");
    }

    [Fact]
    public void HardSigmoidCarriesPyTorchsAlphaAndBeta()
    {
        var nodes = f.Protos["op17"].Graph.Node.Where(n => n.OpType == "HardSigmoid").ToList();
        Assert.Equal(4, nodes.Count); // one channel attention per CSPNeXt stage
        foreach (var n in nodes)
        {
            Assert.Equal(1f / 6f, n.Attribute.Single(a => a.Name == "alpha").F);
            Assert.Equal(0.5f, n.Attribute.Single(a => a.Name == "beta").F);
        }
    }

    [Fact]
    public void EdgeSafeExportHasNoHardSigmoidAndTheSameOutputs()
    {
        var graph = f.Protos["edge"].Graph;
        Assert.DoesNotContain(graph.Node, n => n.OpType == "HardSigmoid");
        Assert.Equal(4, graph.Node.Count(n => n.OpType == "Clip" && n.Input.Count == 3));
        var r = f.Results["edge"];
        Expect.Close(f.Results["op17"]["simcc_x"].Data, r["simcc_x"].Data, 1e-4, "edge-safe vs HardSigmoid simcc_x");
        Expect.Close(f.Torch2["simcc_x"], r["simcc_x"].Data, 1e-3, "edge-safe simcc_x vs libtorch");
        Expect.Close(f.Torch2["simcc_y"], r["simcc_y"].Data, 1e-3, "edge-safe simcc_y vs libtorch");
    }

    [Fact]
    public void UnfoldedExportKeepsOneBatchNormalizationPerBatchNorm()
    {
        Assert.Equal(f.BatchNormModules, f.Protos["nofold"].Graph.Node.Count(n => n.OpType == "BatchNormalization"));
        Assert.DoesNotContain(f.Protos["op17"].Graph.Node, n => n.OpType == "BatchNormalization");
        var r = f.Results["nofold"];
        Expect.Close(f.Torch2["simcc_x"], r["simcc_x"].Data, 1e-3, "unfolded simcc_x vs libtorch");
        Expect.Close(f.Torch2["simcc_y"], r["simcc_y"].Data, 1e-3, "unfolded simcc_y vs libtorch");
    }

    [Fact]
    public void ExportingLeavesTheModelUntouched()
    {
        // Nine exports with folding have run; the model still has its BatchNorms and every value it had before.
        Assert.Equal(f.BatchNormModules, f.Model.NamedModules().Count(m => m.Module is BatchNorm2d));
        Expect.Identical(f.StateBefore, RtmposeExportFixture.Snapshot(f.Model), "state dict after export");
        var again = TestData.Forward(f.Model, f.Input1, RtmposeExportFixture.Shape1);
        Expect.Identical(f.Torch1["simcc_x"], again["simcc_x"], "libtorch output after export");
    }

    [Fact]
    public void MetadataDescribesTheModelAndItsCodec()
    {
        var proto = f.Protos["op17"];
        Assert.Equal("distill", proto.ProducerName);
        Assert.Equal(8, proto.IrVersion);
        Assert.Equal(7, f.Protos["op13"].IrVersion);
        var meta = proto.MetadataProps.ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal(RtmposeExportFixture.Metadata.KeypointNames, JsonSerializer.Deserialize<string[]>(meta["keypoint_names"]));
        Assert.Equal([[15, 13], [13, 11], [16, 14], [14, 12], [11, 12], [5, 11], [6, 12], [5, 6]], JsonSerializer.Deserialize<int[][]>(meta["skeleton"]));
        Assert.Equal(PoseModels.CocoFlip, JsonSerializer.Deserialize<int[]>(meta["flip_indices"])!);
        Assert.Equal([192, 256], JsonSerializer.Deserialize<int[]>(meta["input_size"])!);
        Assert.Equal([123.675, 116.28, 103.53], JsonSerializer.Deserialize<double[]>(meta["mean"])!);
        Assert.Equal([58.395, 57.12, 57.375], JsonSerializer.Deserialize<double[]>(meta["std"])!);
        Assert.Equal("RGB", meta["channel_order"]);
        Assert.Equal("17", meta["num_keypoints"]);
        Assert.Equal("simcc_x,simcc_y", meta["outputs"]);

        // The codec entry rebuilds an equal codec through the registry.
        using var codecJson = JsonDocument.Parse(meta["codec"]);
        var config = codecJson.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => (object?)p.Value.Clone());
        var codec = Assert.IsType<SimCCLabel>(KeypointCodecs.Create(config));
        var original = (SimCCLabel)f.Model.Codec;
        Assert.Equal(original.InputSize, codec.InputSize);
        Assert.Equal(original.Sigma, codec.Sigma);
        Assert.Equal(original.SplitRatio, codec.SplitRatio);
        Assert.Equal(original.Normalize, codec.Normalize);
    }

    [Fact]
    public void WeightsAreStoredAsLittleEndianRawData()
    {
        var init = f.Protos["op17"].Graph.Initializer.Single(t => t.Name == "head.cls_x.weight_t");
        Assert.Equal((int)TensorProto.Types.DataType.Float, init.DataType);
        Assert.Equal([256L, 384], init.Dims);
        Assert.Equal(256 * 384 * 4, init.RawData.Length);
        // Element [i, j] of the stored transpose is weight[j, i] of the Linear layer.
        var stored = Graph.OnnxTensors.ReadFloats(init);
        var weight = f.Model.StateDict().Single(kv => kv.Key == "head.cls_x.weight").Value.ToArray<float>();
        Assert.Equal(weight[5 * 256 + 3], stored[3 * 384 + 5]);
        Assert.Equal(BitConverter.GetBytes(stored[0]), init.RawData.Span[..4].ToArray());
    }

    [Fact]
    public void TheSessionRunsOnLibtorchTensorsInAnyLayoutAndNamesTheFileOnAWrongInput()
    {
        using var scope = Distill.Torch.torch.NewDisposeScope();
        using var session = OnnxSession.Load(f.Files["op17"]);
        var x = Distill.Torch.torch.FromArray(f.Input2, RtmposeExportFixture.Shape2);
        var plain = session.Run(x);
        // A channels-last batch (what a channels-last loader gives) goes in through one row-major copy, same result.
        var nhwc = session.Run(x.Contiguous(Distill.Torch.MemoryFormat.ChannelsLast));
        foreach (var name in new[] { "simcc_x", "simcc_y" })
        {
            Expect.Close(f.Torch2[name], plain[name].ToArray<float>(), 1e-3, name + " from a libtorch tensor");
            Expect.Identical(plain[name].ToArray<float>(), nhwc[name].ToArray<float>(), name + " from a channels-last tensor");
            Assert.Equal([2L, 17, name == "simcc_x" ? 384 : 512], plain[name].Shape);
        }
        var wrongSize = Assert.Throws<ArgumentException>(() => session.Run(Distill.Torch.torch.Zeros([2, 3, 128, 192])));
        Assert.Contains(f.Files["op17"], wrongSize.Message);
        Assert.Contains("[2, 3, 128, 192]", wrongSize.Message);
        Assert.Contains("[N, 3, 256, 192]", wrongSize.Message);
        using var fixedBatch = OnnxSession.Load(f.Files["static2"]);
        var wrongBatch = Assert.Throws<ArgumentException>(() => fixedBatch.Run(Distill.Torch.torch.Zeros([3, 3, 256, 192])));
        Assert.Contains(f.Files["static2"], wrongBatch.Message);
    }

    [Fact]
    public void APoseModelReadsEverythingFromTheFileAndPredictsWhatLibtorchPredicts()
    {
        // The exporter's full metadata, as `distill export` writes it.
        var set = Distill.Pose.Keypoints.KeypointSet.FromName("coco17");
        string path = Path.Combine(f.Directory, "full.onnx");
        OnnxExporter.ExportToFile(f.Model, path, new OnnxExportOptions
        {
            Pose = new PoseExportMetadata { KeypointNames = set.Names.ToList(), Skeleton = set.Skeleton.ToList(), KeypointSet = set.Name, Sigmas = set.Sigmas },
        });
        using var pose = OnnxPoseModel.Load(path);
        Assert.Equal((192, 256), pose.InputSize);
        Assert.Equal(f.Model.FlipIndices, pose.FlipIndices);
        Assert.Equal(set.Sigmas, pose.Sigmas);
        Assert.Equal("coco17", pose.KeypointSetName);
        Assert.Equal(set.Skeleton, pose.Skeleton);
        Assert.Equal(f.Model.Mean, pose.Mean);
        Assert.Equal(f.Model.Std, pose.Std);
        var codec = Assert.IsType<SimCCLabel>(pose.Codec);
        var original = (SimCCLabel)f.Model.Codec;
        Assert.Equal((original.InputSize, original.Sigma, original.SplitRatio, original.Normalize), (codec.InputSize, codec.Sigma, codec.SplitRatio, codec.Normalize));

        using var scope = Distill.Torch.torch.NewDisposeScope();
        var x = Distill.Torch.torch.FromArray(f.Input2, RtmposeExportFixture.Shape2);
        foreach (bool flip in new[] { false, true })
        {
            Distill.Pose.Codecs.DecodedKeypoints expected;
            using (Distill.Torch.Autograd.InferenceMode())
                expected = f.Model.Predict(x, flip);
            var actual = pose.Predict(x, flip);
            // Arg-max decoding: the same bins, so the same pixels; scores are logit maxima, close to rounding.
            Expect.Identical(Expect.Flatten(expected.Keypoints), Expect.Flatten(actual.Keypoints), $"keypoints (flip {flip})");
            Expect.Close(Expect.Flatten(expected.Scores), Expect.Flatten(actual.Scores), 1e-3, $"scores (flip {flip})");
        }
    }

    [Fact]
    public void APoseModelWithoutItsMetadataIsRefusedNamingTheFileAndTheKey()
    {
        // op17 has names and skeleton but was exported without the keypoint set and sigmas; "decode" has neither.
        var partial = Assert.Throws<InvalidDataException>(() => OnnxPoseModel.Load(f.Files["op17"]));
        Assert.Contains(f.Files["op17"], partial.Message);
        Assert.Contains("'keypoint_set'", partial.Message);
        var bare = Assert.Throws<InvalidDataException>(() => OnnxPoseModel.Load(f.Files["decode"]));
        Assert.Contains(f.Files["decode"], bare.Message);
        Assert.Contains("'keypoint_names'", bare.Message);
    }

    [Fact]
    public void LatencyHelperTimesTheExportedModel()
    {
        var result = OnnxLatency.Measure(f.Files["op17"], batch: 1, runs: 3);
        Assert.True(result.MedianMs > 0 && result.MinMs <= result.MedianMs && result.MedianMs <= result.MaxMs, result.ToString());
        Assert.Equal((1, 3, 2), (result.Batch, result.Runs, result.Threads));
    }
}
