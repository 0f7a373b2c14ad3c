using Distill.Pose.Codecs;

namespace Distill.Pose.Tests.Codecs;

/// <summary>SimCCLabel against targets and decodings produced by mmpose 1.3.2 (codecs.json).</summary>
public class SimCCLabelFixtureTests
{
    public static TheoryData<string> Cases => new() { "simcc_coco_rtmpose", "simcc_mpii_rtmpose" };

    private static SimCCLabel CodecOf(string name) =>
        (SimCCLabel)KeypointCodecs.Create(CodecFixtures.Config(CodecFixtures.Case(name).GetProperty("codec_cfg")));

    [Theory]
    [MemberData(nameof(Cases))]
    public void EncodeMatchesMmposeLabelsAndWeights(string name)
    {
        var c = CodecFixtures.Case(name);
        var codec = CodecOf(name);
        var (kps, vis) = CodecFixtures.Inputs(c);

        var target = codec.Encode(kps, vis);

        var x = CodecFixtures.Encoded(c, "clean", "x");
        var y = CodecFixtures.Encoded(c, "clean", "y");
        Assert.Equal(x.Shape[1..], target[TargetNames.KeypointXLabels].Shape);
        Assert.Equal(y.Shape[1..], target[TargetNames.KeypointYLabels].Shape);
        CodecAssert.Close(x.Data, target[TargetNames.KeypointXLabels].Data, 0, "x labels");
        CodecAssert.Close(y.Data, target[TargetNames.KeypointYLabels].Data, 0, "y labels");
        Assert.Equal(CodecFixtures.Weights(c), target.KeypointWeights.Data);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void DecodeMatchesMmposeExactly(string name)
    {
        var c = CodecFixtures.Case(name);
        var codec = CodecOf(name);
        foreach (var variant in new[] { "clean", "noisy" })
        {
            var decoded = codec.Decode(CodecFixtures.Encoded(c, variant, "x"), CodecFixtures.Encoded(c, variant, "y"));
            var (kps, scores) = CodecFixtures.Decoded(c.GetProperty(variant));
            CodecAssert.Decoded(kps, scores, decoded, 0.0, $"{name} {variant}");
        }
    }

    [Fact]
    public void UnlabelledKeypointDecodesToMinusHalfWithScoreZero()
    {
        // Keypoint 3 is invisible: both label rows are zero, the score min(0, 0) = 0 is not positive, so the bin
        // becomes -1 and -1 / 2.0 = -0.5 on both axes (the fixture's recorded corner case).
        var c = CodecFixtures.Case("simcc_coco_rtmpose");
        var decoded = CodecOf("simcc_coco_rtmpose").Decode(CodecFixtures.Encoded(c, "clean", "x"), CodecFixtures.Encoded(c, "clean", "y"));
        Assert.Equal(-0.5f, decoded.Keypoints[0, 3, 0]);
        Assert.Equal(-0.5f, decoded.Keypoints[0, 3, 1]);
        Assert.Equal(0f, decoded.Scores[0, 3]);
    }

    [Fact]
    public void RtmposeNetworkOutputsDecodeExactlyAsMmpose()
    {
        var fixture = ModelFixtures.Load("rtmpose-t_coco_256x192");
        var decodedCfg = fixture.GetProperty("decoded").GetProperty("codec");
        var codec = KeypointCodecs.Create(CodecFixtures.Config(decodedCfg.GetProperty("cfg")));
        var x = ModelFixtures.Tensor(fixture, "rtmpose-t_coco_256x192", "simcc_x");
        var y = ModelFixtures.Tensor(fixture, "rtmpose-t_coco_256x192", "simcc_y");

        var decoded = codec.Decode(x, y);

        var (kps, scores) = CodecFixtures.Decoded(decodedCfg);
        CodecAssert.Decoded(kps, scores, decoded, 0.0, "rtmpose-t simcc");
    }
}
