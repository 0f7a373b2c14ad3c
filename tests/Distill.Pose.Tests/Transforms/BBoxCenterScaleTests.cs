using Distill.Pose.Transforms;

namespace Distill.Pose.Tests.Transforms;

public class BBoxCenterScaleTests
{
    [Fact]
    public void CenterIsBoxCentreAndScaleIsPaddedSize()
    {
        // Box (10, 20, 100, 50): centre (10 + 50, 20 + 25) = (60, 45); scale (100, 50) x 1.25 = (125, 62.5).
        var (center, scale) = BBoxCenterScale.FromXywh(10, 20, 100, 50);
        Assert.Equal((60.0, 45.0), center);
        Assert.Equal((125.0, 62.5), scale);
    }

    [Fact]
    public void WideBoxKeepsWidthAndGrowsHeight()
    {
        // (125, 62.5) at w/h = 0.75: 125 > 62.5 x 0.75 = 46.875, so h = 125 / 0.75 = 166.67.
        var s = BBoxCenterScale.FixAspectRatio((125, 62.5), 0.75);
        Assert.Equal(125.0, s.Width);
        Assert.Equal(166.666666666, s.Height, 6);
    }

    [Fact]
    public void TallBoxKeepsHeightAndGrowsWidth()
    {
        // (50, 200) at 0.75: 50 < 150, so w = 200 x 0.75 = 150. At 1.0 (square teacher): w = 200.
        Assert.Equal((150.0, 200.0), BBoxCenterScale.FixAspectRatio((50, 200), 0.75));
        Assert.Equal((200.0, 200.0), BBoxCenterScale.FixAspectRatio((50, 200), 1.0));
    }

    [Fact]
    public void ExactAspectIsUnchanged()
    {
        // 150 = 200 x 0.75 is not strictly greater, so the height branch gives (150, 200) again.
        Assert.Equal((150.0, 200.0), BBoxCenterScale.FixAspectRatio((150, 200), 0.75));
    }

    [Fact]
    public void InvalidInputsAreRejected()
    {
        Assert.Throws<ArgumentException>(() => BBoxCenterScale.FromXywh(double.NaN, 0, 10, 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => BBoxCenterScale.FromXywh(0, 0, 10, 10, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => BBoxCenterScale.FixAspectRatio((1, 1), -1));
    }
}
