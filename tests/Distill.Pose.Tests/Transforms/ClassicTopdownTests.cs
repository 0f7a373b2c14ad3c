using Distill.Pose.Codecs;
using Distill.Pose.Transforms;
using Distill.Torch.Vision;

namespace Distill.Pose.Tests.Transforms;

/// <summary>The classic (mmpose 0.x, original ViTPose demo) box geometry and heatmap decode, by hand.</summary>
public sealed class ClassicTopdownTests
{
    private static readonly (int Width, int Height) Input = (192, 256);

    [Fact]
    public void NarrowBoxIsWidenedToTheInputAspectThenScaledBy1Point25Over200()
    {
        // Box (10, 20, 60, 160): center (40, 100); 60 < 0.75 x 160, so w becomes 120; scale = (120, 160) / 200 x 1.25.
        var (c, s) = ClassicTopdown.BoxToCenterScale(10, 20, 60, 160, Input);
        Assert.Equal((40.0, 100.0), c);
        Assert.Equal(0.75, s.Width, 12);
        Assert.Equal(1.0, s.Height, 12);
        // A wide box (0, 0, 300, 100) keeps its width: h = 300 / 0.75 = 400; scale (1.875, 2.5).
        (c, s) = ClassicTopdown.BoxToCenterScale(0, 0, 300, 100, Input);
        Assert.Equal((150.0, 50.0), c);
        Assert.Equal(1.875, s.Width, 12);
        Assert.Equal(2.5, s.Height, 12);
    }

    [Fact]
    public void CropMatrixMapsThePaddedBoxOntoTheInput()
    {
        // center (40, 100), scale (0.75, 1) -> a 150 x 200 pixel box: x' = (x - 40) x 192 / 150 + 96, y' = (y - 100) x 1.28 + 128.
        var m = ClassicTopdown.CropMatrix((40, 100), (0.75, 1.0), Input);
        Assert.True(m.ApproximatelyEquals(new AffineMatrix(1.28, 0, 44.8, 0, 1.28, 0), 1e-9), m.ToString());
        var (x, y) = m.Apply(-35, 0); // the padded box's top-left corner
        Assert.Equal(0, x, 9);
        Assert.Equal(0, y, 9);
    }

    [Fact]
    public void CropIsNormalisedWithImageNetMeanAndStd()
    {
        // A uniform image of (200, 100, 50) crops to the same colour wherever the box lies inside it.
        var image = new Image(64, 64, 3);
        for (int i = 0; i < image.Data.Length; i += 3) (image.Data[i], image.Data[i + 1], image.Data[i + 2]) = ((byte)200, (byte)100, (byte)50);
        var crop = new ClassicTopdown((16, 16)).Cut(image, 16, 16, 16, 16);
        Assert.Equal(3 * 16 * 16, crop.Input.Length);
        Assert.Equal((200 - 123.675) / 58.395, crop.Input[0], 5);
        Assert.Equal((100 - 116.28) / 57.12, crop.Input[16 * 16 + 5], 5);
        Assert.Equal((50 - 103.53) / 57.375, crop.Input[2 * 16 * 16 + 16 * 8 + 8], 5);
        Assert.Equal((24.0, 24.0), crop.Center);
        Assert.Equal(16 / 200.0 * 1.25, crop.Scale.Width, 12);
    }

    /// <summary>One 6 x 5 heatmap (W x H) with the given values, zeros elsewhere.</summary>
    private static ShapedArray Map(params (int X, int Y, float V)[] values)
    {
        var data = new float[5 * 6];
        foreach (var (x, y, v) in values) data[y * 6 + x] = v;
        return new ShapedArray(data, 1, 1, 5, 6);
    }

    [Fact]
    public void DecodeShiftsAQuarterPixelTowardTheHigherNeighbour()
    {
        // Peak 1 at (2, 2); right 0.5 > left 0.2 -> x + 0.25; below 0.3 = above 0.3 -> y unchanged.
        var d = ClassicTopdown.DecodeHeatmaps(Map((2, 2, 1f), (3, 2, 0.5f), (1, 2, 0.2f), (2, 1, 0.3f), (2, 3, 0.3f)));
        Assert.Equal(2.25f, d.Keypoints[0, 0, 0]);
        Assert.Equal(2f, d.Keypoints[0, 0, 1]);
        Assert.Equal(1f, d.Scores[0, 0]);
        // Peak at (3, 2) with the higher neighbour above: y - 0.25, x shifted left toward 0.4 > 0.
        d = ClassicTopdown.DecodeHeatmaps(Map((3, 2, 0.9f), (2, 2, 0.4f), (3, 1, 0.6f)));
        Assert.Equal(2.75f, d.Keypoints[0, 0, 0]);
        Assert.Equal(1.75f, d.Keypoints[0, 0, 1]);
    }

    [Fact]
    public void DecodeLeavesMaximaNearABorderUnshiftedAndEmptyMapsAtMinusOne()
    {
        // x = 1 is not > 1: neither axis moves, though both neighbours differ.
        var d = ClassicTopdown.DecodeHeatmaps(Map((1, 2, 1f), (2, 2, 0.5f), (1, 3, 0.5f)));
        Assert.Equal((1f, 2f), (d.Keypoints[0, 0, 0], d.Keypoints[0, 0, 1]));
        // y = 3 = H - 2 is inside (1 < 3 < 4): it moves; y = 4 = H - 1 would not.
        d = ClassicTopdown.DecodeHeatmaps(Map((2, 3, 1f), (2, 4, 0.5f)));
        Assert.Equal((2f, 3.25f), (d.Keypoints[0, 0, 0], d.Keypoints[0, 0, 1]));
        d = ClassicTopdown.DecodeHeatmaps(Map((2, 4, 1f), (2, 3, 0.5f)));
        Assert.Equal((2f, 4f), (d.Keypoints[0, 0, 0], d.Keypoints[0, 0, 1]));
        // No positive value: (-1, -1), the score is the (non-positive) maximum, the first one in row-major order.
        var empty = new ShapedArray(Enumerable.Repeat(-0.5f, 30).ToArray(), 1, 1, 5, 6);
        d = ClassicTopdown.DecodeHeatmaps(empty);
        Assert.Equal((-1f, -1f), (d.Keypoints[0, 0, 0], d.Keypoints[0, 0, 1]));
        Assert.Equal(-0.5f, d.Scores[0, 0]);
    }

    [Fact]
    public void HeatmapPointsGoBackThroughCenterAndScale()
    {
        // center (40, 100), scale (0.75, 1) -> 150 x 200 px; heatmap 48 x 64: x = 12 x 150 / 48 + 40 - 75 = 2.5,
        // y = 16 x 200 / 64 + 100 - 100 = 50.
        var (x, y) = ClassicTopdown.ToImage(12, 16, (40, 100), (0.75, 1.0), (48, 64));
        Assert.Equal(2.5, x, 12);
        Assert.Equal(50, y, 12);
        // Heatmap (0, 0) is the padded box's top-left corner.
        (x, y) = ClassicTopdown.ToImage(0, 0, (40, 100), (0.75, 1.0), (48, 64));
        Assert.Equal((-35.0, 0.0), (x, y));
    }

    [Fact]
    public void ClassicAndUdpPathsAgreeWithinAPixelOnWellFormedPeaks()
    {
        // A box whose padded crop is 48 x 64 image pixels (one heatmap pixel per image pixel). Keypoints placed in the
        // image are mapped into the crop, encoded by the UDP codec (sub-pixel Gaussians) and decoded both ways: UDP
        // (DARK-UDP, then the crop inverse) and classic (argmax + quarter pixel, then center and scale).
        var codec = new UDPHeatmap(Input, (48, 64), 2.0);
        var (center, scale) = ClassicTopdown.BoxToCenterScale(140, 90, 38.4, 51.2, Input);
        var geometry = new CropGeometry(center, (scale.Width * 200, scale.Height * 200), 0, false, 320, Input);
        float[] image = [150.3f, 100.8f, 170.55f, 131.2f, 143.9f, 118.45f, 161.1f, 95.7f];
        var crop = new float[image.Length];
        geometry.ImageToCrop(image, crop);
        var target = codec.Encode(crop, [1f, 1f, 1f, 1f]);
        var heatmaps = target[TargetNames.Heatmaps].Reshape(1, 4, 64, 48);
        var udp = codec.Decode(heatmaps);
        var classic = ClassicTopdown.DecodeHeatmaps(heatmaps);
        for (int k = 0; k < 4; k++)
        {
            var a = geometry.CropToImage(udp.Keypoints[0, k, 0], udp.Keypoints[0, k, 1]);
            var b = ClassicTopdown.ToImage(classic.Keypoints[0, k, 0], classic.Keypoints[0, k, 1], center, scale, (48, 64));
            double d = Math.Sqrt((a.X - b.X) * (a.X - b.X) + (a.Y - b.Y) * (a.Y - b.Y));
            Assert.True(d <= 1.0, $"keypoint {k}: UDP ({a.X:F3}, {a.Y:F3}), classic ({b.X:F3}, {b.Y:F3}), {d:F3} px apart");
            // UDP recovers where the keypoint was put to within a quarter pixel (the Gaussian is cut at 3 sigma).
            Assert.True(Math.Abs(a.X - image[2 * k]) < 0.25 && Math.Abs(a.Y - image[2 * k + 1]) < 0.25, $"UDP keypoint {k} at ({a.X}, {a.Y})");
        }
    }
}
