using Distill.Torch;
using Distill.Pose.Codecs;

namespace Distill.Pose.Tests.Codecs;

/// <summary>
/// Flip test: the output for a mirrored input, flipped back, decodes like the output for the original input. The
/// "network output" here is the clean encoding of mirrored keypoints with left and right swapped.
/// </summary>
public class FlipBackTests
{
    // COCO-17 left/right pairs.
    private static readonly int[] CocoFlip = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15];

    private static float[] Keypoints(int seed, float lo, float hi, float ylo, float yhi, Func<float, float>? snap = null)
    {
        var rng = new Random(seed);
        var kps = new float[34];
        for (int i = 0; i < 17; i++)
        {
            float x = lo + (float)rng.NextDouble() * (hi - lo);
            kps[2 * i] = snap?.Invoke(x) ?? x;
            kps[2 * i + 1] = ylo + (float)rng.NextDouble() * (yhi - ylo);
        }
        return kps;
    }

    // Mirrors x with the given map and swaps left/right keypoints.
    private static float[] Mirror(float[] kps, Func<float, float> mirrorX)
    {
        var m = new float[kps.Length];
        for (int i = 0; i < 17; i++)
        {
            m[2 * i] = mirrorX(kps[2 * CocoFlip[i]]);
            m[2 * i + 1] = kps[2 * CocoFlip[i] + 1];
        }
        return m;
    }

    private static readonly float[] Visible = Enumerable.Repeat(1f, 17).ToArray();

    private static ShapedArray Batch(ShapedArray a) => a.Reshape([1, .. a.Shape]);

    private static void AssertSame(DecodedKeypoints expected, DecodedKeypoints actual, double tolerance)
    {
        for (int k = 0; k < 17; k++)
        {
            Assert.Equal(expected.Keypoints[0, k, 0], actual.Keypoints[0, k, 0], tolerance);
            Assert.Equal(expected.Keypoints[0, k, 1], actual.Keypoints[0, k, 1], tolerance);
            Assert.Equal(expected.Scores[0, k], actual.Scores[0, k], 1e-6);
        }
    }

    [Fact]
    public void SimCCReversedXBinsRestoreTheOriginalDecode()
    {
        // Reversing 384 bins maps bin i to 383 - i, i.e. x to 191.5 - x.
        var codec = new SimCCLabel((192, 256), (4.9, 5.66), normalize: false);
        var kps = Keypoints(11, 20, 170, 20, 230);
        var original = codec.Encode(kps, Visible);
        var mirrored = codec.Encode(Mirror(kps, x => 191.5f - x), Visible);

        var (fx, fy) = codec.FlipBack(Batch(mirrored[TargetNames.KeypointXLabels]), Batch(mirrored[TargetNames.KeypointYLabels]), CocoFlip);

        CodecAssert.Close(original[TargetNames.KeypointXLabels].Data, fx.Data, 0, "flipped x labels");
        AssertSame(codec.Decode(Batch(original[TargetNames.KeypointXLabels]), Batch(original[TargetNames.KeypointYLabels])),
            codec.Decode(fx, fy), 0);
    }

    [Fact]
    public void UdpFlipNeedsNoShift()
    {
        // UDP's grid is symmetric under the image flip x -> 191 - x: heatmap x -> 47 - x.
        var codec = new UDPHeatmap((192, 256), (48, 64), 2);
        var kps = Keypoints(12, 30, 160, 30, 220);
        var original = codec.Encode(kps, Visible);
        var mirrored = codec.Encode(Mirror(kps, x => 191f - x), Visible);

        var flipped = codec.FlipBack(Batch(mirrored[TargetNames.Heatmaps]), CocoFlip);

        Assert.False(codec.ShiftHeatmapOnFlip);
        CodecAssert.Close(original[TargetNames.Heatmaps].Data, flipped.Data, 1e-5, "flipped heatmaps");
        AssertSame(codec.Decode(Batch(original[TargetNames.Heatmaps])), codec.Decode(flipped), 1e-3);
    }

    [Fact]
    public void MsraFlipShiftsOneColumn()
    {
        // With x = 4c the mirrored keypoint 191 - 4c lands on pixel int(47.75 - c + 0.5) = 48 - c; mirroring gives
        // column c - 1 and the one-column shift restores c.
        var codec = new MSRAHeatmap((192, 256), (48, 64), 2);
        var kps = Keypoints(13, 40, 150, 30, 220, x => 4 * MathF.Round(x / 4));
        var original = codec.Encode(kps, Visible);
        var mirrored = codec.Encode(Mirror(kps, x => 191f - x), Visible);

        var flipped = codec.FlipBack(Batch(mirrored[TargetNames.Heatmaps]), CocoFlip);
        var unshifted = codec.FlipBack(Batch(mirrored[TargetNames.Heatmaps]), CocoFlip, shift: false);

        Assert.True(codec.ShiftHeatmapOnFlip);
        CodecAssert.Close(original[TargetNames.Heatmaps].Data, flipped.Data, 0, "flipped heatmaps");
        var expected = codec.Decode(Batch(original[TargetNames.Heatmaps]));
        AssertSame(expected, codec.Decode(flipped), 0);
        // Without the shift every keypoint lands one heatmap pixel (4 input pixels) to the left.
        var left = codec.Decode(unshifted);
        for (int k = 0; k < 17; k++) Assert.Equal(expected.Keypoints[0, k, 0] - 4f, left.Keypoints[0, k, 0]);
    }

    [Fact]
    public void RegressionFlipSubtractsOnePixel()
    {
        // x' = 191 - x normalised: 1 - (191 - x) / 192 - 1 / 192 = x / 192.
        var codec = new RegressionLabel((192, 256));
        var kps = Keypoints(14, 0, 191, 0, 255);
        var original = codec.Encode(kps, Visible);
        var mirrored = codec.Encode(Mirror(kps, x => 191f - x), Visible);

        var flipped = codec.FlipBack(Batch(mirrored[TargetNames.KeypointLabels]), CocoFlip);

        CodecAssert.Close(original[TargetNames.KeypointLabels].Data, flipped.Data, 1e-6, "flipped coordinates");
    }

    [Fact]
    public void TensorFlipBackEqualsArrayFlipBack()
    {
        var rng = new Random(15);
        float[] Noise(int n) => Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble()).ToArray();
        var x = new ShapedArray(Noise(2 * 17 * 384), 2, 17, 384);
        var y = new ShapedArray(Noise(2 * 17 * 512), 2, 17, 512);
        var maps = new ShapedArray(Noise(2 * 17 * 64 * 48), 2, 17, 64, 48);
        var coords = new ShapedArray(Noise(2 * 17 * 4), 2, 17, 4);
        var simcc = new SimCCLabel((192, 256), (4.9, 5.66), normalize: false);
        var msra = new MSRAHeatmap((192, 256), (48, 64), 2);
        var udp = new UDPHeatmap((192, 256), (48, 64), 2);
        var reg = new RegressionLabel((192, 256));

        using var scope = torch.NewDisposeScope();
        var (tx, ty) = simcc.FlipBack(x.ToTensor(), y.ToTensor(), CocoFlip);
        var (ax, ay) = simcc.FlipBack(x, y, CocoFlip);
        Assert.Equal(ax.Data, ShapedArray.FromTensor(tx).Data);
        Assert.Equal(ay.Data, ShapedArray.FromTensor(ty).Data);
        Assert.Equal(msra.FlipBack(maps, CocoFlip).Data, ShapedArray.FromTensor(msra.FlipBack(maps.ToTensor(), CocoFlip)).Data);
        Assert.Equal(udp.FlipBack(maps, CocoFlip).Data, ShapedArray.FromTensor(udp.FlipBack(maps.ToTensor(), CocoFlip)).Data);
        CodecAssert.Close(reg.FlipBack(coords, CocoFlip).Data, ShapedArray.FromTensor(reg.FlipBack(coords.ToTensor(), CocoFlip)).Data, 1e-7, "coordinates");
    }
}
