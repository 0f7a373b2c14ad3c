namespace Distill.Pose.Transforms;

/// <summary>
/// A 2x3 affine matrix in OpenCV's layout: x' = M00 x + M01 y + M02, y' = M10 x + M11 y + M12. Doubles throughout,
/// so chains of crops map points without float32 drift.
/// </summary>
public readonly record struct AffineMatrix(double M00, double M01, double M02, double M10, double M11, double M12)
{
    public static AffineMatrix Identity => new(1, 0, 0, 0, 1, 0);

    /// <summary>Horizontal mirror of an image <paramref name="width"/> pixels wide: x -> width - 1 - x (mmpose's flip).</summary>
    public static AffineMatrix MirrorX(int width) => new(-1, 0, width - 1, 0, 1, 0);

    public static AffineMatrix Translation(double dx, double dy) => new(1, 0, dx, 0, 1, dy);

    public static AffineMatrix Scaling(double sx, double sy) => new(sx, 0, 0, 0, sy, 0);

    /// <summary>Reads six numbers in row-major order (the layout cv2.warpAffine takes).</summary>
    public static AffineMatrix FromArray(ReadOnlySpan<double> m)
    {
        if (m.Length != 6) throw new ArgumentException($"an affine matrix has 6 entries, got {m.Length}", nameof(m));
        return new AffineMatrix(m[0], m[1], m[2], m[3], m[4], m[5]);
    }

    public double this[int row, int col] => (row, col) switch
    {
        (0, 0) => M00, (0, 1) => M01, (0, 2) => M02,
        (1, 0) => M10, (1, 1) => M11, (1, 2) => M12,
        _ => throw new ArgumentOutOfRangeException(nameof(row), $"({row}, {col}) is outside a 2x3 matrix"),
    };

    public double[] ToArray() => [M00, M01, M02, M10, M11, M12];

    public double Determinant => M00 * M11 - M01 * M10;

    public (double X, double Y) Apply(double x, double y) => (M00 * x + M01 * y + M02, M10 * x + M11 * y + M12);

    /// <summary>Maps (x, y) pairs; <paramref name="destination"/> may be <paramref name="source"/> itself.</summary>
    public void Apply(ReadOnlySpan<float> source, Span<float> destination)
    {
        if (source.Length % 2 != 0) throw new ArgumentException("points are (x, y) pairs; the span has an odd length", nameof(source));
        if (destination.Length < source.Length) throw new ArgumentException("destination is shorter than source", nameof(destination));
        for (int i = 0; i < source.Length; i += 2)
        {
            double x = source[i], y = source[i + 1];
            destination[i] = (float)(M00 * x + M01 * y + M02);
            destination[i + 1] = (float)(M10 * x + M11 * y + M12);
        }
    }

    public AffineMatrix Invert()
    {
        double det = Determinant;
        if (det == 0 || !double.IsFinite(det)) throw new InvalidOperationException($"affine matrix {this} is not invertible");
        double i00 = M11 / det, i01 = -M01 / det, i10 = -M10 / det, i11 = M00 / det;
        return new AffineMatrix(i00, i01, -(i00 * M02 + i01 * M12), i10, i11, -(i10 * M02 + i11 * M12));
    }

    /// <summary>The matrix product: <c>(a * b)</c> applies <paramref name="b"/> first, then <paramref name="a"/>.</summary>
    public static AffineMatrix operator *(AffineMatrix a, AffineMatrix b) => new(
        a.M00 * b.M00 + a.M01 * b.M10, a.M00 * b.M01 + a.M01 * b.M11, a.M00 * b.M02 + a.M01 * b.M12 + a.M02,
        a.M10 * b.M00 + a.M11 * b.M10, a.M10 * b.M01 + a.M11 * b.M11, a.M10 * b.M02 + a.M11 * b.M12 + a.M12);

    /// <summary>This transform followed by <paramref name="next"/>.</summary>
    public AffineMatrix Then(AffineMatrix next) => next * this;

    public bool ApproximatelyEquals(AffineMatrix other, double tolerance) =>
        Math.Abs(M00 - other.M00) <= tolerance && Math.Abs(M01 - other.M01) <= tolerance && Math.Abs(M02 - other.M02) <= tolerance &&
        Math.Abs(M10 - other.M10) <= tolerance && Math.Abs(M11 - other.M11) <= tolerance && Math.Abs(M12 - other.M12) <= tolerance;

    public override string ToString() => $"[[{M00:G6}, {M01:G6}, {M02:G6}], [{M10:G6}, {M11:G6}, {M12:G6}]]";
}
