using Distill.Pose.Codecs;

namespace Distill.Pose.Tests.Codecs;

/// <summary>MSRAHeatmap and UDPHeatmap rules checked on hand-computed cases.</summary>
public class HeatmapCodecTests
{
    private static readonly MSRAHeatmap Msra = new((192, 256), (48, 64), 2);
    private static readonly MSRAHeatmap Dark = new((192, 256), (48, 64), 2, unbiased: true);
    private static readonly UDPHeatmap Udp = new((192, 256), (48, 64), 2);

    private static float At(EncodedTarget t, int k, int y, int x) => t[TargetNames.Heatmaps].Data[(k * 64 + y) * 48 + x];

    [Fact]
    public void MsraCentresOnTheRoundedPixelWithinThreeSigma()
    {
        // (10, 10) / stride 4 = (2.5, 2.5); int(2.5 + 0.5) = 3. Window [3 - 6, 3 + 7) = [-3, 10).
        var t = Msra.Encode([10, 10], [1]);
        Assert.Equal(1f, At(t, 0, 3, 3));
        Assert.Equal(Math.Exp(-1 / 8.0), At(t, 0, 3, 4), 6);          // one pixel: exp(-1 / (2 * 2^2))
        Assert.Equal(Math.Exp(-(36 + 1) / 8.0), At(t, 0, 4, 9), 6);   // the window's last column
        Assert.Equal(0f, At(t, 0, 3, 10));                            // outside the window
        Assert.Equal(new[] { 1, 64, 48 }, t[TargetNames.Heatmaps].Shape);
    }

    [Fact]
    public void DarkEncodingCentresOnTheExactSubPixel()
    {
        // (10.6, 20.2) / 4 = (2.65, 5.05); at pixel (3, 5): exp(-(0.35^2 + 0.05^2) / 8) = 0.984496...
        var t = Dark.Encode([10.6f, 20.2f], [1]);
        Assert.Equal(Math.Exp(-(0.35 * 0.35 + 0.05 * 0.05) / 8), At(t, 0, 5, 3), 5);
        // Drawn over the whole map: far pixels are tiny but not cut off, exp(-(2.65^2 + 40.95^2) / 8) ~ 1.6e-91
        // underflows to 0 in float32, while (0, 20) holds exp(-(2.65^2 + 14.95^2) / 8) = 7.1e-13.
        Assert.Equal(Math.Exp(-(2.65 * 2.65 + 14.95 * 14.95) / 8), At(t, 0, 20, 0), 15);
    }

    [Fact]
    public void UdpMapsInputCornersOntoHeatmapCorners()
    {
        // Scale (192 - 1) / (48 - 1): input pixel 0 is heatmap pixel 0, so the Gaussian peaks with 1 at (0, 0).
        var t = Udp.Encode([0, 0], [1]);
        Assert.Equal(1f, At(t, 0, 0, 0));
        Assert.Equal(Math.Exp(-1 / 8.0), At(t, 0, 0, 1), 6);
        // A point half-way between pixels peaks below 1: 191/47 * 10.5 input px -> heatmap x 10.5, y 0.
        var half = Udp.Encode([(float)(191.0 / 47 * 10.5), 0], [1]);
        Assert.Equal(Math.Exp(-0.25 / 8), At(half, 0, 0, 10), 5);
        Assert.Equal(Math.Exp(-0.25 / 8), At(half, 0, 0, 11), 5);
    }

    [Fact]
    public void MsraQuarterShiftFollowsMmposeBounds()
    {
        // Maximum at column 2 with a larger right neighbour: x -> 2.25, times 4 = 9. y has equal neighbours.
        var map = new float[64 * 48];
        map[10 * 48 + 2] = 1f;
        map[10 * 48 + 3] = 0.5f;
        map[10 * 48 + 1] = 0.2f;
        var d = Msra.Decode(new ShapedArray(map, 1, 64, 48));
        Assert.Equal((9f, 40f), (d.Keypoints[0, 0, 0], d.Keypoints[0, 0, 1]));

        // At column 1 the x shift is skipped (mmpose requires 1 < x), although column 0 exists.
        var edge = new float[64 * 48];
        edge[10 * 48 + 1] = 1f;
        edge[10 * 48 + 2] = 0.5f;
        edge[11 * 48 + 1] = 0.3f; // y moves down a quarter: 10.25 * 4 = 41
        var e = Msra.Decode(new ShapedArray(edge, 1, 64, 48));
        Assert.Equal((4f, 41f), (e.Keypoints[0, 0, 0], e.Keypoints[0, 0, 1]));
    }

    [Fact]
    public void DecodeReadsABatchOfInstances()
    {
        // Two instances, two keypoints each, single hot pixels: the decode is per instance and channel.
        var maps = new float[2 * 2 * 64 * 48];
        void Hot(int n, int k, int y, int x) => maps[((n * 2 + k) * 64 + y) * 48 + x] = 1f;
        Hot(0, 0, 5, 6);
        Hot(0, 1, 7, 8);
        Hot(1, 0, 9, 10);
        Hot(1, 1, 11, 12);
        var d = Msra.Decode(new ShapedArray(maps, 2, 2, 64, 48));
        Assert.Equal((2, 2), (d.Count, d.NumKeypoints));
        Assert.Equal((24f, 20f), (d.Keypoints[0, 0, 0], d.Keypoints[0, 0, 1]));
        Assert.Equal((32f, 28f), (d.Keypoints[0, 1, 0], d.Keypoints[0, 1, 1]));
        Assert.Equal((40f, 36f), (d.Keypoints[1, 0, 0], d.Keypoints[1, 0, 1]));
        Assert.Equal((48f, 44f), (d.Keypoints[1, 1, 0], d.Keypoints[1, 1, 1]));
    }

    [Fact]
    public void KeypointOutsideTheMapGetsWeightZero()
    {
        // MSRA x = -31: int(-31 / 4 + 0.5) = int(-7.25) = -7 (truncation toward zero), window right edge
        // -7 + 7 = 0, which is not < 0, so it is kept; x = -36: int(-8.5) = -8, right edge -1 < 0, dropped.
        Assert.Equal(1f, Msra.Encode([-31, 100], [1]).KeypointWeights.Data[0]);
        Assert.Equal(0f, Msra.Encode([-36, 100], [1]).KeypointWeights.Data[0]);
        Assert.Equal(0f, Udp.Encode([500, 100], [1]).KeypointWeights.Data[0]);
        Assert.Equal(0f, Dark.Encode([100, -40], [1]).KeypointWeights.Data[0]);
    }
}
