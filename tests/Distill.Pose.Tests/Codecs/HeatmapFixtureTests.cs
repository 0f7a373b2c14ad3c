using Distill.Pose.Codecs;

namespace Distill.Pose.Tests.Codecs;

/// <summary>MSRAHeatmap (plain and DARK) and UDPHeatmap against mmpose 1.3.2's fixtures.</summary>
public class HeatmapFixtureTests
{
    public static TheoryData<string> Cases => new() { "msra_heatmap", "msra_heatmap_unbiased", "udp_heatmap_vitpose" };

    private static HeatmapCodec CodecOf(string name) =>
        (HeatmapCodec)KeypointCodecs.Create(CodecFixtures.Config(CodecFixtures.Case(name).GetProperty("codec_cfg")));

    [Theory]
    [MemberData(nameof(Cases))]
    public void EncodeMatchesMmposeHeatmapsAndWeights(string name)
    {
        var c = CodecFixtures.Case(name);
        var (kps, vis) = CodecFixtures.Inputs(c);

        var target = CodecOf(name).Encode(kps, vis);

        var expected = CodecFixtures.Encoded(c, "clean", "heatmaps");
        Assert.Equal(expected.Shape, target[TargetNames.Heatmaps].Shape);
        CodecAssert.Close(expected.Data, target[TargetNames.Heatmaps].Data, 0, $"{name} heatmaps");
        Assert.Equal(CodecFixtures.Weights(c), target.KeypointWeights.Data);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void DecodeMatchesMmpose(string name)
    {
        var c = CodecFixtures.Case(name);
        var codec = CodecOf(name);
        foreach (var variant in new[] { "clean", "noisy" })
        {
            var decoded = codec.Decode(CodecFixtures.Encoded(c, variant, "heatmaps"));
            var (kps, scores) = CodecFixtures.Decoded(c.GetProperty(variant));
            CodecAssert.Decoded(kps, scores, decoded, 0, $"{name} {variant}");
        }
    }

    [Fact]
    public void AllZeroMapDecodesToMinusOneStrideForMsraAndNaNForUdp()
    {
        // Keypoint 3 is invisible, so its map is all zero. The maximum 0 is not positive, so the location is
        // (-1, -1). MSRA skips refinement at the border and multiplies by the stride 4: (-4, -4). UDP's blur
        // rescales by 0 / 0 = NaN, which the Newton step carries into the keypoint.
        var msra = CodecFixtures.Case("msra_heatmap");
        var m = CodecOf("msra_heatmap").Decode(CodecFixtures.Encoded(msra, "clean", "heatmaps"));
        Assert.Equal((-4f, -4f, 0f), (m.Keypoints[0, 3, 0], m.Keypoints[0, 3, 1], m.Scores[0, 3]));

        var dark = CodecFixtures.Case("msra_heatmap_unbiased");
        var d = CodecOf("msra_heatmap_unbiased").Decode(CodecFixtures.Encoded(dark, "clean", "heatmaps"));
        Assert.Equal((-4f, -4f, 0f), (d.Keypoints[0, 3, 0], d.Keypoints[0, 3, 1], d.Scores[0, 3]));

        var udp = CodecFixtures.Case("udp_heatmap_vitpose");
        var u = CodecOf("udp_heatmap_vitpose").Decode(CodecFixtures.Encoded(udp, "clean", "heatmaps"));
        Assert.True(float.IsNaN(u.Keypoints[0, 3, 0]) && float.IsNaN(u.Keypoints[0, 3, 1]));
        Assert.Equal(0f, u.Scores[0, 3]);
    }

    [Theory]
    [InlineData("codec")]
    [InlineData("msra")]
    [InlineData("msra_unbiased")]
    public void VitPoseNetworkHeatmapsDecodeAsMmpose(string decoder)
    {
        const string model = "vit-tiny4_coco_256x192";
        var fixture = ModelFixtures.Load(model);
        var decoded = fixture.GetProperty("decoded").GetProperty(decoder);
        var codec = KeypointCodecs.Create(CodecFixtures.Config(decoded.GetProperty("cfg")));
        var heatmaps = ModelFixtures.Tensor(fixture, model, "heatmaps");

        var result = codec.Decode(heatmaps);

        // These random-weight maps include channels with no positive value; for UDP their (-1, -1) maxima read
        // neighbours from the previous map, which the decoder reproduces.
        var (kps, scores) = CodecFixtures.Decoded(decoded);
        CodecAssert.Decoded(kps, scores, result, 0, $"{model} {decoder}");
    }
}
