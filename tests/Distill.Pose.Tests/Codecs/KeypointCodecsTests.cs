using System.Text.Json;
using Distill.Pose.Codecs;

namespace Distill.Pose.Tests.Codecs;

/// <summary>The registry builds codecs from mmpose-style configs and rejects bad ones by name.</summary>
public class KeypointCodecsTests
{
    private static IReadOnlyDictionary<string, object?> Json(string json) =>
        CodecFixtures.Config(JsonDocument.Parse(json).RootElement);

    [Fact]
    public void BuildsEveryFixtureCodecFromItsMmposeConfig()
    {
        var simcc = Assert.IsType<SimCCLabel>(KeypointCodecs.Create(CodecFixtures.Config(CodecFixtures.Case("simcc_coco_rtmpose").GetProperty("codec_cfg"))));
        Assert.Equal(((192, 256), (4.9, 5.66), 2.0, false), (simcc.InputSize, simcc.Sigma, simcc.SplitRatio, simcc.Normalize));

        var dark = Assert.IsType<MSRAHeatmap>(KeypointCodecs.Create(CodecFixtures.Config(CodecFixtures.Case("msra_heatmap_unbiased").GetProperty("codec_cfg"))));
        Assert.Equal(((48, 64), 2.0, true, 11), (dark.HeatmapSize, dark.Sigma, dark.Unbiased, dark.BlurKernelSize));

        var udp = Assert.IsType<UDPHeatmap>(KeypointCodecs.Create(CodecFixtures.Config(CodecFixtures.Case("udp_heatmap_vitpose").GetProperty("codec_cfg"))));
        Assert.Equal(((192, 256), (48, 64)), (udp.InputSize, udp.HeatmapSize));

        var reg = Assert.IsType<RegressionLabel>(KeypointCodecs.Create(Json("""{"type": "RegressionLabel", "input_size": [192, 256]}""")));
        Assert.Equal((192, 256), reg.InputSize);
    }

    [Fact]
    public void MissingOptionsTakeMmposeDefaults()
    {
        var simcc = (SimCCLabel)KeypointCodecs.Create("SimCCLabel", Json("""{"input_size": [256, 256]}"""));
        Assert.Equal(((6.0, 6.0), 2.0, true, SimCCSmoothing.Gaussian), (simcc.Sigma, simcc.SplitRatio, simcc.Normalize, simcc.Smoothing));
        var msra = (MSRAHeatmap)KeypointCodecs.Create("MSRAHeatmap", Json("""{"input_size": [192, 256], "heatmap_size": [48, 64], "sigma": 2}"""));
        Assert.False(msra.Unbiased);
        Assert.Equal(11, msra.BlurKernelSize);
    }

    [Fact]
    public void AcceptsPlainValuesAndStringsAsAYamlReaderProducesThem()
    {
        var config = new Dictionary<string, object?>
        {
            ["type"] = "SimCCLabel",
            ["input_size"] = new List<object> { "192", "256" },
            ["sigma"] = new object[] { 4.9, "5.66" },
            ["simcc_split_ratio"] = "2.0",
            ["normalize"] = "False",
        };
        var simcc = (SimCCLabel)KeypointCodecs.Create(config);
        Assert.Equal(((192, 256), (4.9, 5.66), false), (simcc.InputSize, simcc.Sigma, simcc.Normalize));
        var scalarSigma = (SimCCLabel)KeypointCodecs.Create("SimCCLabel", new Dictionary<string, object?> { ["input_size"] = new[] { 256, 256 }, ["sigma"] = 5.66f });
        Assert.Equal(5.66, scalarSigma.Sigma.Y, 6);
    }

    [Theory]
    [InlineData("""{"type": "SimCCLabel", "input_size": [192, 256], "sigmaa": 3}""", "'sigmaa'")]
    [InlineData("""{"type": "SimCCLabel", "sigma": 3}""", "'input_size'")]
    [InlineData("""{"type": "SimCCLabel", "input_size": [192]}""", "'input_size'")]
    [InlineData("""{"type": "SimCCLabel", "input_size": [192, 256], "normalize": 3}""", "'normalize'")]
    [InlineData("""{"type": "SimCCLabel", "input_size": [192, 256], "use_dark": true}""", "use_dark")]
    [InlineData("""{"type": "SimCCLabel", "input_size": [192, 256], "smoothing_type": "laplace"}""", "'smoothing_type'")]
    [InlineData("""{"type": "UDPHeatmap", "input_size": [192, 256], "heatmap_size": [48, 64], "heatmap_type": "combined"}""", "heatmap_type")]
    [InlineData("""{"type": "MSRAHeatmap", "input_size": [192, 256], "heatmap_size": [48, 64]}""", "'sigma'")]
    [InlineData("""{"type": "MSRAHeatmap", "input_size": [192, 256], "heatmap_size": [48, 64], "sigma": 2, "blur_kernel_size": 10}""", "blur")]
    [InlineData("""{"type": "Heatmap", "input_size": [192, 256]}""", "SimCCLabel")]
    [InlineData("""{"input_size": [192, 256]}""", "'type'")]
    public void BadConfigIsRejectedNamingTheProblem(string json, string mentioned)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => KeypointCodecs.Create(Json(json)));
        Assert.Contains(mentioned, e.Message);
    }

    [Fact]
    public void NewTypesRegisterWithOneLine()
    {
        KeypointCodecs.Register("TestRegressionAlias", p => new RegressionLabel(p.GetSize("input_size")));
        Assert.Contains("TestRegressionAlias", KeypointCodecs.Types);
        Assert.IsType<RegressionLabel>(KeypointCodecs.Create("TestRegressionAlias", Json("""{"input_size": [64, 64]}""")));
    }
}
