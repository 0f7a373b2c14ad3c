using Distill.Pose.Codecs;

namespace Distill.Pose.Tests.Codecs;

public class RegressionLabelTests
{
    private static readonly RegressionLabel Codec = new((192, 256));

    [Fact]
    public void EncodeNormalisesByInputSizeAndWeightsInsideLabelledKeypoints()
    {
        var t = Codec.Encode([96, 128, 191, 255, 191.5f, 0, 10, 10, 10, 10], [1, 1, 1, 0.5f, 0.6f]);
        Assert.Equal(new[] { 5, 2 }, t[TargetNames.KeypointLabels].Shape);
        Assert.Equal(0.5f, t[TargetNames.KeypointLabels].Data[0]);           // 96 / 192
        Assert.Equal(0.5f, t[TargetNames.KeypointLabels].Data[1]);           // 128 / 256
        Assert.Equal((float)(191.5 / 192), t[TargetNames.KeypointLabels].Data[4]);
        // Inside means [0, w - 1] x [0, h - 1]; visibility must exceed 0.5.
        Assert.Equal(new[] { 1f, 1f, 0f, 0f, 1f }, t.KeypointWeights.Data);
    }

    [Fact]
    public void DecodeScalesBackAndScoresSigmaOutputs()
    {
        var d = Codec.Decode(new ShapedArray([0.5f, 0.25f, 0.1f, 0.3f], 1, 1, 4));
        Assert.Equal((96f, 64f), (d.Keypoints[0, 0, 0], d.Keypoints[0, 0, 1]));
        Assert.Equal(0.8f, d.Scores[0, 0], 6); // 1 - mean(0.1, 0.3)
        var plain = Codec.Decode(new ShapedArray([0.5f, 0.25f], 1, 2));
        Assert.Equal(1f, plain.Scores[0, 0]);
        Assert.Throws<ArgumentException>(() => Codec.Decode(new ShapedArray(new float[3], 1, 1, 3)));
    }
}
