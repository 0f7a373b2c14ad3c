using Distill.Pose.Transforms;

namespace Distill.Pose.Tests.Transforms;

public class WarpMatrixTests
{
    // Centre (100, 200), scale (96, 128), output (192, 256): both axes scale by k = 192 / 96 = 2.
    private static readonly (double, double) Center = (100, 200);
    private static readonly (double, double) Scale = (96, 128);
    private static readonly (int, int) Output = (192, 256);

    [Fact]
    public void NoRotationIsScaleAndTranslate()
    {
        // src0 = centre -> dst0 = (96, 128): x' = 2x + (96 - 200) = 2x - 104, y' = 2y + (128 - 400) = 2y - 272.
        var m = WarpMatrix.Get(Center, Scale, 0, Output);
        AssertMatrix(new AffineMatrix(2, 0, -104, 0, 2, -272), m);
    }

    [Fact]
    public void NinetyDegreesMatchesTheThreePointConstruction()
    {
        // mmpose: src_dir = R(90) (0, -48) with R = [[cos, -sin], [sin, cos]] = (48, 0), so src1 = (148, 200);
        // dst1 = (96, 128 - 96) = (96, 32). The third points turn (a - b) by +90 degrees about b:
        // src2 = (148, 200) + (-0, -48) = (148, 152); dst2 = (96, 32) + (-96, 0) = (0, 32).
        // Solving: x' = 2y - 304, y' = -2x + 328 (check: (100, 200) -> (96, 128); (148, 200) -> (96, 32);
        // (148, 152) -> (0, 32)).
        var m = WarpMatrix.Get(Center, Scale, 90, Output);
        AssertMatrix(new AffineMatrix(0, 2, -304, -2, 0, 328), m);
    }

    [Fact]
    public void ShiftMovesTheSourceCentreByScaleTimesShift()
    {
        // shift (0.1, -0.2): src0 = (100 + 9.6, 200 - 25.6) = (109.6, 174.4) -> (96, 128):
        // x' = 2x + 96 - 219.2 = 2x - 123.2, y' = 2y + 128 - 348.8 = 2y - 220.8.
        var m = WarpMatrix.Get(Center, Scale, 0, Output, shift: (0.1, -0.2));
        AssertMatrix(new AffineMatrix(2, 0, -123.2, 0, 2, -220.8), m);
    }

    [Fact]
    public void InverseMapsOutputBackToSource()
    {
        // Inverse of x' = 2x - 104: x = 0.5 x' + 52; of y' = 2y - 272: y = 0.5 y' + 136.
        var inv = WarpMatrix.Get(Center, Scale, 0, Output, inverse: true);
        AssertMatrix(new AffineMatrix(0.5, 0, 52, 0, 0.5, 136), inv);
        var rotated = WarpMatrix.Get(Center, Scale, 37, Output);
        AssertMatrix(rotated.Invert(), WarpMatrix.Get(Center, Scale, 37, Output, inverse: true));
    }

    [Theory]
    [InlineData(-63.5, 0.0, 0.0)]
    [InlineData(30.0, 0.05, -0.1)]
    [InlineData(179.0, -0.16, 0.16)]
    public void ArbitraryRotationTakesMmposeConstructionPointsToTheirTargets(double rot, double shiftX, double shiftY)
    {
        // The six points written out from mmpose's definition (not from the implementation's algebra).
        (double cx, double cy) = (321.5, 187.25);
        (double sw, double sh) = (150, 200);
        double r = rot * Math.PI / 180;
        var s0 = (cx + sw * shiftX, cy + sh * shiftY);
        var dir = (0 * Math.Cos(r) - (-0.5 * sw) * Math.Sin(r), 0 * Math.Sin(r) + (-0.5 * sw) * Math.Cos(r));
        var s1 = (s0.Item1 + dir.Item1, s0.Item2 + dir.Item2);
        var s2 = (s1.Item1 - (s0.Item2 - s1.Item2), s1.Item2 + (s0.Item1 - s1.Item1));
        var d0 = (96.0, 128.0);
        var d1 = (96.0, 128.0 - 96.0);
        var d2 = (d1.Item1 - (d0.Item2 - d1.Item2), d1.Item2 + (d0.Item1 - d1.Item1));

        var m = WarpMatrix.Get((cx, cy), (sw, sh), rot, (192, 256), (shiftX, shiftY));
        AssertPoint(d0, m.Apply(s0.Item1, s0.Item2));
        AssertPoint(d1, m.Apply(s1.Item1, s1.Item2));
        AssertPoint(d2, m.Apply(s2.Item1, s2.Item2));
        // A similarity with factor out.w / scale.w on both axes.
        Assert.Equal(Math.Pow(192.0 / 150, 2), m.Determinant, 9);
    }

    [Fact]
    public void DegenerateInputsAreRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => WarpMatrix.Get(Center, (0, 10), 0, Output));
        Assert.Throws<ArgumentOutOfRangeException>(() => WarpMatrix.Get(Center, Scale, 0, (0, 10)));
        Assert.Throws<ArgumentException>(() => WarpMatrix.Get((double.NaN, 0), Scale, 0, Output));
    }

    private static void AssertMatrix(AffineMatrix expected, AffineMatrix actual) =>
        Assert.True(expected.ApproximatelyEquals(actual, 1e-9), $"expected {expected}, got {actual}");

    private static void AssertPoint((double X, double Y) expected, (double X, double Y) actual)
    {
        Assert.Equal(expected.X, actual.X, 9);
        Assert.Equal(expected.Y, actual.Y, 9);
    }
}
