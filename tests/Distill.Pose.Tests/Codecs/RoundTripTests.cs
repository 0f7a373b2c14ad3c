using Distill.Pose.Codecs;

namespace Distill.Pose.Tests.Codecs;

/// <summary>Decoding a clean encoding returns the keypoints within the codec's resolution.</summary>
public class RoundTripTests
{
    private const int K = 17;

    // Random keypoints in [lo, hi) on each axis, all labelled.
    private static (float[] Keypoints, float[] Visibility) Random(int seed, (float Lo, float Hi) x, (float Lo, float Hi) y)
    {
        var rng = new Random(seed);
        var kps = new float[2 * K];
        for (int i = 0; i < K; i++)
        {
            kps[2 * i] = x.Lo + (float)rng.NextDouble() * (x.Hi - x.Lo);
            kps[2 * i + 1] = y.Lo + (float)rng.NextDouble() * (y.Hi - y.Lo);
        }
        return (kps, Enumerable.Repeat(1f, K).ToArray());
    }

    private static void AssertWithin(float[] kps, DecodedKeypoints d, double tolerance, Func<int, float, double>? expected = null)
    {
        for (int i = 0; i < K; i++)
            for (int a = 0; a < 2; a++)
            {
                double want = expected?.Invoke(a, kps[2 * i + a]) ?? kps[2 * i + a];
                Assert.True(Math.Abs(d.Keypoints[0, i, a] - want) <= tolerance,
                    $"keypoint {i} axis {a}: {kps[2 * i + a]} decoded as {d.Keypoints[0, i, a]}, expected {want} +- {tolerance}");
            }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void SimCCRecoversKeypointsToHalfABin(int seed)
    {
        var codec = new SimCCLabel((192, 256), (4.9, 5.66), normalize: false);
        var (kps, vis) = Random(seed, (0, 191), (0, 255));
        var t = codec.Encode(kps, vis);
        var d = codec.Decode(t[TargetNames.KeypointXLabels], t[TargetNames.KeypointYLabels]);
        AssertWithin(kps, d, 0.25); // a bin is 1 / 2 pixel
        Assert.All(Enumerable.Range(0, K), i => Assert.Equal(1f, d.Scores[0, i]));
    }

    [Theory]
    [InlineData(4)]
    [InlineData(5)]
    public void MsraRecoversKeypointsToHalfAStride(int seed)
    {
        // Kept below input - stride / 2 so that the Gaussian's centre pixel lies on the map.
        var codec = new MSRAHeatmap((192, 256), (48, 64), 2);
        var (kps, vis) = Random(seed, (0, 189.9f), (0, 253.9f));
        AssertWithin(kps, codec.Decode(codec.Encode(kps, vis)[TargetNames.Heatmaps]), 2.0);
    }

    [Theory]
    [InlineData(6)]
    [InlineData(7)]
    public void DarkRecoversInteriorKeypointsToAHundredthOfAPixel(int seed)
    {
        // 10 heatmap pixels from the border, where the zero padding of the blur does not reach the peak.
        var codec = new MSRAHeatmap((192, 256), (48, 64), 2, unbiased: true);
        var (kps, vis) = Random(seed, (40, 152), (40, 216));
        AssertWithin(kps, codec.Decode(codec.Encode(kps, vis)[TargetNames.Heatmaps]), 0.01);
    }

    [Theory]
    [InlineData(8)]
    [InlineData(9)]
    public void UdpRecoversInteriorKeypointsUpToMmposeDecodeScale(int seed)
    {
        // mmpose encodes with scale (w - 1) / (W - 1) but decodes with w / (W - 1), so a clean round trip returns
        // x * w / (w - 1): 192 / 191 on x, 256 / 255 on y. Within that, the DARK-UDP step is accurate to 1e-3 px.
        var codec = new UDPHeatmap((192, 256), (48, 64), 2);
        var (kps, vis) = Random(seed, (40, 152), (40, 216));
        var d = codec.Decode(codec.Encode(kps, vis)[TargetNames.Heatmaps]);
        AssertWithin(kps, d, 1e-3, (axis, v) => v * (axis == 0 ? 192.0 / 191 : 256.0 / 255));
    }

    [Fact]
    public void RegressionIsExactUpToFloatRounding()
    {
        var codec = new RegressionLabel((192, 256));
        var (kps, vis) = Random(10, (0, 191), (0, 255));
        AssertWithin(kps, codec.Decode(codec.Encode(kps, vis)[TargetNames.KeypointLabels]), 1e-4);
    }
}
