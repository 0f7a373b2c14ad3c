using Distill.Config;
using Distill.Pose.Codecs;
using Distill.Pose.Models;
using Distill.Pose.Models.Backbones;
using Distill.Pose.Models.Heads;
using Distill.Pose.Models.Options;
using Distill.Torch;

namespace Distill.Pose.Tests.Models;

/// <summary>
/// model.test_cfg.shift_heatmap: the flip test averages the plain heatmaps with the mirrored crop's, mapped back and,
/// when shifting, moved one column to the right. A network that passes its input through (and so commutes with the
/// flip) makes both halves of the average known by hand.
/// </summary>
public class FlipTestShiftTests
{
    /// <summary>Three keypoints, 1 and 2 swapping under the flip.</summary>
    private static readonly int[] FlipIndices = [0, 2, 1];

    /// <summary>(1, 3, 2, 4): one non-zero column per channel in row 0, row 1 all zeros.</summary>
    private static Tensor Input() => torch.FromArray(new float[]
    {
        0, 4, 0, 0, /**/ 0, 0, 0, 0,
        0, 0, 8, 0, /**/ 0, 0, 0, 0,
        2, 0, 0, 0, /**/ 0, 0, 0, 0,
    }, [1, 3, 2, 4]);

    // The mirrored crop's maps, mapped back, are the input with channels 1 and 2 swapped: [0 4 0 0], [2 0 0 0], [0 0 8 0].
    // Shifted one column right (column 0 kept): [0 0 4 0], [2 2 0 0], [0 0 0 8]. Row 0 of the averages:
    private static readonly float[][] Shifted = [[0, 2, 2, 0], [1, 1, 4, 0], [1, 0, 0, 4]];
    private static readonly float[][] Unshifted = [[0, 4, 0, 0], [1, 0, 4, 0], [1, 0, 4, 0]];

    private static TopdownPoseEstimator PassThrough(HeatmapCodec codec, bool? shift) =>
        new(new InputBackbone(), new FeatureHead(), codec, FlipIndices, flipTest: true) { ShiftHeatmap = shift };

    private static float[][] FlipTestRow0(TopdownPoseEstimator model)
    {
        using var input = Input();
        var outputs = model.InferenceOutputs(input);
        try
        {
            var maps = outputs["heatmaps"].ToArray<float>();
            // Row 1 is zero in both halves of the average.
            for (int k = 0; k < 3; k++) Assert.All(maps.AsSpan(k * 8 + 4, 4).ToArray(), v => Assert.Equal(0f, v));
            return Enumerable.Range(0, 3).Select(k => maps.AsSpan(k * 8, 4).ToArray()).ToArray();
        }
        finally
        {
            foreach (var t in outputs.Values) t.Dispose();
        }
    }

    public static TheoryData<string, bool?, bool> Cases => new()
    {
        // codec, test_cfg.shift_heatmap, whether the flipped maps end up shifted
        { "MSRAHeatmap", null, true },
        { "MSRAHeatmap", false, false },
        { "MSRAHeatmap", true, true },
        { "UDPHeatmap", null, false },
        { "UDPHeatmap", true, true },
        { "UDPHeatmap", false, false },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void ShiftHeatmapOverridesTheCodecDefault(string codecName, bool? shift, bool shifted)
    {
        HeatmapCodec codec = codecName == "MSRAHeatmap" ? new MSRAHeatmap((8, 4), (4, 2), 2.0) : new UDPHeatmap((8, 4), (4, 2));
        using var model = PassThrough(codec, shift);
        Assert.Equal(shifted ? Shifted : Unshifted, FlipTestRow0(model));
    }

    [Theory]
    [InlineData("false", false)]
    [InlineData("true", true)]
    [InlineData("null", null)]
    public void TheConfigKeyReachesTheBuiltModel(string value, bool? expected)
    {
        var options = ConfigBinder.Bind<ModelOptions>(Parse($$"""
            keypoint_set: coco17
            input_size: [32, 32]
            backbone: {type: CSPNeXt, deepen_factor: 0.167, widen_factor: 0.125}
            head: {type: HeatmapHead}
            codec: {type: MSRAHeatmap}
            test_cfg: {flip_test: true, shift_heatmap: {{value}}}
            """));
        var (model, _) = ModelFactory.Build(options);
        using (model)
            Assert.Equal(expected, model.ShiftHeatmap);
    }

    [Fact]
    public void ShiftHeatmapOnANonHeatmapCodecIsAnError()
    {
        var ex = Assert.Throws<ConfigException>(() => ConfigBinder.Bind<ModelOptions>(Parse("""
            head: {type: RTMCCHead}
            codec: {type: SimCCLabel}
            test_cfg: {shift_heatmap: true}
            """)));
        var error = Assert.Single(ex.Errors);
        Assert.Equal("test_cfg.shift_heatmap", error.Path);
        Assert.Contains("SimCCLabel", error.Message);
    }

    private static ConfigMapping Parse(string yaml)
    {
        var path = Path.Combine(Path.GetTempPath(), "distill-shift-" + Guid.NewGuid().ToString("N") + ".yaml");
        File.WriteAllText(path, yaml + "\n");
        try
        {
            return ConfigLoader.Load(path);
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>Returns the input as its only feature map.</summary>
    private sealed class InputBackbone : Backbone
    {
        public override long[] OutChannels => [3];
        public override int[] OutStrides => [1];
        public override Tensor[] Forward(Tensor input) => [input.Clone()];
    }

    /// <summary>Returns the feature map as the heatmaps.</summary>
    private sealed class FeatureHead : PoseHead
    {
        public override long NumKeypoints => 3;
        public override string[] OutputNames => ["heatmaps"];
        public override Dictionary<string, Tensor> Forward(Tensor[] features) => new() { ["heatmaps"] = features[^1].Clone() };

        public override Dictionary<string, Tensor> Loss(IReadOnlyDictionary<string, Tensor> outputs, IReadOnlyDictionary<string, Tensor> targets) =>
            throw new NotSupportedException();
    }
}
