using Distill.Torch;
using Distill.Pose.Codecs;

namespace Distill.Pose.Tests.Codecs;

/// <summary>Bad input gets an exception that says what is wrong; tensors decode like arrays.</summary>
public class CodecInputTests
{
    private static readonly IKeypointCodec[] All =
    [
        new SimCCLabel((192, 256), (4.9, 5.66), normalize: false),
        new MSRAHeatmap((192, 256), (48, 64), 2),
        new UDPHeatmap((192, 256), (48, 64), 2),
        new RegressionLabel((192, 256)),
    ];

    [Fact]
    public void EncodeRejectsMismatchedLengths()
    {
        foreach (var codec in All)
        {
            var e = Assert.Throws<ArgumentException>(() => codec.Encode(new float[5], new float[3]));
            Assert.Contains("5 values", e.Message);
            Assert.Contains(codec.TypeName, e.Message);
        }
    }

    [Fact]
    public void EncodeRejectsNonFiniteLabelledKeypointsButIgnoresUnlabelledOnes()
    {
        foreach (var codec in All)
        {
            var e = Assert.Throws<ArgumentException>(() => codec.Encode([1, 2, float.NaN, 4], [1, 1]));
            Assert.Contains("keypoint 1", e.Message);
            var t = codec.Encode([1, 2, float.NaN, 4], [1, 0]);
            Assert.Equal(0f, t.KeypointWeights.Data[1]);
        }
    }

    [Fact]
    public void DecodeRejectsOutputsOfTheWrongShape()
    {
        var simcc = (SimCCLabel)All[0];
        var e = Assert.Throws<ArgumentException>(() => simcc.Decode(ShapedArray.Zeros(1, 17, 192), ShapedArray.Zeros(1, 17, 512)));
        Assert.Contains("192 x bins", e.Message);
        Assert.Throws<ArgumentException>(() => simcc.Decode(ShapedArray.Zeros(1, 17, 384), ShapedArray.Zeros(1, 16, 512)));
        Assert.Throws<ArgumentException>(() => All[1].Decode(ShapedArray.Zeros(1, 17, 48, 64)));
        Assert.Throws<ArgumentException>(() => All[1].Decode(ShapedArray.Zeros(17, 64, 48), ShapedArray.Zeros(17, 64, 48)));
        Assert.Throws<ArgumentException>(() => new ShapedArray(new float[5], 2, 3));
    }

    [Fact]
    public void FlipBackRejectsBadIndices()
    {
        var maps = ShapedArray.Zeros(1, 3, 64, 48);
        var msra = (HeatmapCodec)All[1];
        Assert.Contains("2 flip indices", Assert.Throws<ArgumentException>(() => msra.FlipBack(maps, [0, 1])).Message);
        Assert.Contains("flip index 3", Assert.Throws<ArgumentException>(() => msra.FlipBack(maps, [0, 3, 1])).Message);
    }

    [Fact]
    public void UnbatchedOutputsDecodeAsOneInstance()
    {
        var codec = (MSRAHeatmap)All[1];
        var map = new float[64 * 48];
        map[20 * 48 + 30] = 1f;
        var d = codec.Decode(new ShapedArray(map, 1, 64, 48));
        Assert.Equal((1, 1, 120f, 80f), (d.Count, d.NumKeypoints, d.Keypoints[0, 0, 0], d.Keypoints[0, 0, 1]));
    }

    [Fact]
    public void TensorsDecodeExactlyLikeArrays()
    {
        var c = CodecFixtures.Case("udp_heatmap_vitpose");
        var maps = CodecFixtures.Encoded(c, "noisy", "heatmaps");
        var udp = (UDPHeatmap)All[2];
        using var scope = torch.NewDisposeScope();
        using var tensor = maps.ToTensor();
        using var asDouble = tensor.Double(); // any floating dtype is accepted
        var fromArray = udp.Decode(maps);
        var fromTensor = udp.Decode(asDouble);
        Assert.Equal(fromArray.Keypoints.Cast<float>(), fromTensor.Keypoints.Cast<float>());
        Assert.Equal(fromArray.Scores.Cast<float>(), fromTensor.Scores.Cast<float>());

        var s = CodecFixtures.Case("simcc_coco_rtmpose");
        var simcc = (SimCCLabel)All[0];
        var x = CodecFixtures.Encoded(s, "noisy", "x");
        var y = CodecFixtures.Encoded(s, "noisy", "y");
        Assert.Equal(simcc.Decode(x, y).Keypoints.Cast<float>(), simcc.Decode([x.ToTensor(), y.ToTensor()]).Keypoints.Cast<float>());
    }
}
