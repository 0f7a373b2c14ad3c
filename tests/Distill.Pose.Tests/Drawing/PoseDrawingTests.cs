using Distill.Pose.Drawing;
using Distill.Torch.Vision;

namespace Distill.Pose.Tests.Drawing;

public sealed class PoseDrawingTests
{
    private static readonly (byte, byte, byte) Grey = (100, 100, 100);

    private static Image Blank(int w = 64, int h = 48)
    {
        var img = new Image(h, w, 3);
        Array.Fill(img.Data, (byte)100);
        return img;
    }

    private static (byte, byte, byte) Px(Image img, int x, int y) => (img[y, x, 0], img[y, x, 1], img[y, x, 2]);

    [Fact]
    public void DrawsKeypointsAndLinksAboveTheThreshold()
    {
        var img = Blank();
        // Three keypoints on a row; the third is below the threshold, so neither it nor its link is drawn.
        double[] kp = [10, 20, 40, 20, 55, 40];
        double[] scores = [0.9, 0.8, 0.1];
        PoseDrawing.DrawPose(img, kp, scores, [(0, 1), (1, 2)], PoseDrawing.GroundTruthColour, radius: 3, thickness: 2, kptThreshold: 0.3);

        Assert.Equal(PoseDrawing.GroundTruthColour, Px(img, 10, 20)); // dot centre
        Assert.Equal(PoseDrawing.GroundTruthColour, Px(img, 40, 20));
        Assert.Equal(PoseDrawing.GroundTruthColour, Px(img, 25, 20)); // on the link, between the dots
        Assert.Equal(Grey, Px(img, 55, 40)); // the low-score keypoint
        Assert.Equal(Grey, Px(img, 48, 30)); // midway along the suppressed link (40,20)-(55,40)
        Assert.Equal(Grey, Px(img, 25, 10)); // away from everything
    }

    [Fact]
    public void VisibilityFlagsWorkAsScores()
    {
        // COCO visibility 0/1/2 with threshold 0.5: v = 1 and 2 are drawn, v = 0 is not.
        var img = Blank();
        PoseDrawing.DrawPose(img, [8, 8, 30, 30, 50, 10], [2, 1, 0], [], PoseDrawing.PredictionColour, kptThreshold: 0.5);
        Assert.Equal(PoseDrawing.PredictionColour, Px(img, 8, 8));
        Assert.Equal(PoseDrawing.PredictionColour, Px(img, 30, 30));
        Assert.Equal(Grey, Px(img, 50, 10));
        Assert.NotEqual(PoseDrawing.GroundTruthColour, PoseDrawing.PredictionColour);
    }

    [Fact]
    public void DotsHaveADarkRim()
    {
        var img = Blank();
        PoseDrawing.DrawPose(img, [30.0, 20.0], [1.0], [], (200, 120, 40), radius: 6);
        // The dot (radius 6) sits on a rim of a quarter of its colour (50, 30, 10) out to radius 7. Pixel (30, 27),
        // 7 from the centre, is on the rim; antialiasing may blend in some grey, but the pixel stays far darker
        // than the dot or the background (sums 360 and 300; rim 90).
        var (r, g, b) = Px(img, 30, 27);
        Assert.True(r + g + b < 250, $"rim pixel ({r}, {g}, {b})");
        Assert.Equal(((byte)200, (byte)120, (byte)40), Px(img, 30, 26));
    }

    [Fact]
    public void SinglePrecisionOverloadDrawsTheSame()
    {
        var a = Blank();
        var b = Blank();
        PoseDrawing.DrawPose(a, [5.5, 6.5, 30.25, 40.75], [0.7, 0.9], [(0, 1)], (10, 200, 250));
        PoseDrawing.DrawPose(b, new float[] { 5.5f, 6.5f, 30.25f, 40.75f }, new float[] { 0.7f, 0.9f }, [(0, 1)], (10, 200, 250));
        Assert.Equal(a.Data, b.Data);
        Assert.NotEqual(Blank().Data, a.Data);
    }

    [Fact]
    public void BadInputIsRejectedWithItsReason()
    {
        var img = Blank();
        var e = Assert.Throws<ArgumentException>(() => PoseDrawing.DrawPose(img, [1, 2, 3], [1, 1], [], Grey));
        Assert.Contains("3 values", e.Message);
        e = Assert.Throws<ArgumentException>(() => PoseDrawing.DrawPose(img, [1, 2, 3, 4], [1, 1], [(0, 1), (1, 2)], Grey));
        Assert.Contains("link 1 (1, 2)", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => PoseDrawing.DrawPose(img, [1, 2], [1], [], Grey, radius: 0));
    }
}
