using Distill.Pose.Codecs;

namespace Distill.Pose.Tests.Codecs;

/// <summary>SimCCLabel rules checked on hand-computed cases.</summary>
public class SimCCLabelTests
{
    private static readonly SimCCLabel Rtm = new((192, 256), (4.9, 5.66), normalize: false);

    private static EncodedTarget EncodeOne(SimCCLabel codec, float x, float y, float visibility = 1f) =>
        codec.Encode([x, y], [visibility]);

    [Fact]
    public void BinCountsAreInputSizeTimesRatio()
    {
        Assert.Equal((384, 512), (Rtm.XBins, Rtm.YBins));
        var t = EncodeOne(Rtm, 0, 0);
        Assert.Equal(new[] { 1, 384 }, t[TargetNames.KeypointXLabels].Shape);
        Assert.Equal(new[] { 1, 512 }, t[TargetNames.KeypointYLabels].Shape);
        Assert.Equal(new[] { 1 }, t.KeypointWeights.Shape);
    }

    [Fact]
    public void BinRoundsHalfToEvenAndLabelIsAPeakOneGaussian()
    {
        // x: 10.25 * 2 = 20.5 rounds to 20 (even); y: 20.75 * 2 = 41.5 rounds to 42 (even).
        var t = EncodeOne(Rtm, 10.25f, 20.75f);
        var x = t[TargetNames.KeypointXLabels].Data;
        var y = t[TargetNames.KeypointYLabels].Data;
        Assert.Equal(20, Array.IndexOf(x, x.Max()));
        Assert.Equal(42, Array.IndexOf(y, y.Max()));
        Assert.Equal(1f, x[20]);
        Assert.Equal(1f, y[42]);
        // One bin away: exp(-1 / (2 * 4.9^2)) = exp(-1 / 48.02) = 0.979393...; y three bins away: exp(-9 / 64.0712).
        Assert.Equal(Math.Exp(-1 / 48.02), x[21], 6);
        Assert.Equal(Math.Exp(-1 / 48.02), x[19], 6);
        Assert.Equal(Math.Exp(-9 / (2 * 5.66 * 5.66)), y[45], 6);
        Assert.Equal(1f, t.KeypointWeights.Data[0]);
    }

    [Fact]
    public void NormalizeDividesBySigmaSqrtTwoPi()
    {
        var codec = new SimCCLabel((192, 256), (4.9, 5.66)); // mmpose's default normalize = true
        var t = EncodeOne(codec, 50, 60);
        // Peak 1 / (4.9 * sqrt(2 pi)) = 0.0814163...; y: 1 / (5.66 * sqrt(2 pi)) = 0.0704837...
        Assert.Equal(1 / (4.9 * Math.Sqrt(2 * Math.PI)), t[TargetNames.KeypointXLabels].Data[100], 7);
        Assert.Equal(1 / (5.66 * Math.Sqrt(2 * Math.PI)), t[TargetNames.KeypointYLabels].Data[120], 7);
    }

    [Fact]
    public void UnlabelledKeypointGetsZeroLabelsAndWeightWhileLabelledKeepsItsVisibility()
    {
        var t = Rtm.Encode([50, 60, 70, 80, 90, 100], [0.3f, 0.8f, 0f]);
        var x = t[TargetNames.KeypointXLabels].Data;
        Assert.All(x.AsSpan(0, 384).ToArray(), v => Assert.Equal(0f, v));
        Assert.All(x.AsSpan(768, 384).ToArray(), v => Assert.Equal(0f, v));
        Assert.Equal(1f, x[384 + 140]);
        Assert.Equal(new[] { 0f, 0.8f, 0f }, t.KeypointWeights.Data);
    }

    [Theory]
    // x = -7: bin -14, window right edge -14 + 3 * 4.9 + 1 = 1.7 >= 0, so kept (its tail reaches bin 0).
    [InlineData(-7f, 100f, 1f)]
    // x = -8: bin -16, right edge -0.3 < 0: entirely outside, weight 0.
    [InlineData(-8f, 100f, 0f)]
    // x = 199: bin 398, left edge 398 - 14.7 = 383.3 < 384 bins, kept.
    [InlineData(199f, 100f, 1f)]
    // x = 199.5: bin 399, left edge 384.3 >= 384: outside.
    [InlineData(199.5f, 100f, 0f)]
    // y = 263: bin 526, left edge 526 - 16.98 = 509.02 < 512, kept; y = 265: bin 530, 513.02 >= 512, outside.
    [InlineData(50f, 263f, 1f)]
    [InlineData(50f, 265f, 0f)]
    public void ThreeSigmaWindowDecidesWhetherAnOutsideKeypointCounts(float x, float y, float weight)
    {
        var t = EncodeOne(Rtm, x, y);
        Assert.Equal(weight, t.KeypointWeights.Data[0]);
        float labelSum = t[TargetNames.KeypointXLabels].Data.Sum() + t[TargetNames.KeypointYLabels].Data.Sum();
        if (weight == 0f) Assert.Equal(0f, labelSum);
        else Assert.True(labelSum > 0f);
    }

    [Fact]
    public void KeptOutsideKeypointLeavesOnlyItsTailInTheBins()
    {
        // Bin -14: label at bin 0 is exp(-14^2 / 48.02) = exp(-4.0816...) = 0.016879...
        var t = EncodeOne(Rtm, -7f, 100f);
        Assert.Equal(Math.Exp(-196 / 48.02), t[TargetNames.KeypointXLabels].Data[0], 6);
    }

    [Fact]
    public void StandardSmoothingIsOneHotWithUniformMass()
    {
        var codec = new SimCCLabel((192, 256), 6.0, smoothing: SimCCSmoothing.Standard, labelSmoothWeight: 0.1);
        var t = EncodeOne(codec, 10f, 20f);
        var x = t[TargetNames.KeypointXLabels].Data;
        Assert.Equal(0.9f, x[20]);
        Assert.Equal((float)(0.1 / 383), x[0]); // the smoothing mass spread over the other W - 1 bins
        var outside = EncodeOne(codec, -1f, 20f); // bin -2 is out of range for one-hot labels
        Assert.Equal(0f, outside.KeypointWeights.Data[0]);
    }

    [Fact]
    public void DecodeTakesArgMaxOverRatioAndTheSmallerMaximumAsScore()
    {
        var x = new float[384];
        var y = new float[512];
        x[101] = 0.7f;
        x[300] = 0.7f; // a tie: the first maximum wins, as numpy's argmax
        y[33] = 0.4f;
        var d = Rtm.Decode(new ShapedArray(x, 1, 1, 384), new ShapedArray(y, 1, 1, 512));
        Assert.Equal((50.5f, 16.5f, 0.4f), (d.Keypoints[0, 0, 0], d.Keypoints[0, 0, 1], d.Scores[0, 0]));
    }

    [Fact]
    public void NonPositiveScoreMarksTheKeypointInvalid()
    {
        // All logits negative: score = min(-0.2, -0.1) = -0.2 <= 0, so both bins become -1 -> -0.5 pixels.
        var x = Enumerable.Repeat(-1f, 384).ToArray();
        var y = Enumerable.Repeat(-1f, 512).ToArray();
        x[10] = -0.2f;
        y[20] = -0.1f;
        var d = Rtm.Decode(new ShapedArray(x, 1, 384), new ShapedArray(y, 1, 512));
        Assert.Equal((-0.5f, -0.5f, -0.2f), (d.Keypoints[0, 0, 0], d.Keypoints[0, 0, 1], d.Scores[0, 0]));
    }

    [Fact]
    public void NaNLogitWinsTheArgMaxLikeNumpy()
    {
        var x = new float[384];
        var y = new float[512];
        x[7] = float.NaN;
        x[8] = 5f;
        y[9] = 1f;
        var d = Rtm.Decode(new ShapedArray(x, 1, 384), new ShapedArray(y, 1, 512));
        Assert.Equal(3.5f, d.Keypoints[0, 0, 0]);
        Assert.True(float.IsNaN(d.Scores[0, 0]));
    }
}
