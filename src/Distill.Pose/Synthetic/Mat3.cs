namespace Distill.Pose.Synthetic;

/// <summary>A 3x3 rotation, row-major. Angles are in degrees because joint limits are written in degrees.</summary>
internal readonly record struct Mat3(double M00, double M01, double M02, double M10, double M11, double M12, double M20, double M21, double M22)
{
    public static readonly Mat3 Identity = new(1, 0, 0, 0, 1, 0, 0, 0, 1);

    private const double Rad = Math.PI / 180.0;

    public static Mat3 RotX(double deg)
    {
        double c = Math.Cos(deg * Rad), s = Math.Sin(deg * Rad);
        return new(1, 0, 0, 0, c, -s, 0, s, c);
    }

    public static Mat3 RotY(double deg)
    {
        double c = Math.Cos(deg * Rad), s = Math.Sin(deg * Rad);
        return new(c, 0, s, 0, 1, 0, -s, 0, c);
    }

    public static Mat3 RotZ(double deg)
    {
        double c = Math.Cos(deg * Rad), s = Math.Sin(deg * Rad);
        return new(c, -s, 0, s, c, 0, 0, 0, 1);
    }

    public static Mat3 operator *(Mat3 a, Mat3 b) => new(
        a.M00 * b.M00 + a.M01 * b.M10 + a.M02 * b.M20, a.M00 * b.M01 + a.M01 * b.M11 + a.M02 * b.M21, a.M00 * b.M02 + a.M01 * b.M12 + a.M02 * b.M22,
        a.M10 * b.M00 + a.M11 * b.M10 + a.M12 * b.M20, a.M10 * b.M01 + a.M11 * b.M11 + a.M12 * b.M21, a.M10 * b.M02 + a.M11 * b.M12 + a.M12 * b.M22,
        a.M20 * b.M00 + a.M21 * b.M10 + a.M22 * b.M20, a.M20 * b.M01 + a.M21 * b.M11 + a.M22 * b.M21, a.M20 * b.M02 + a.M21 * b.M12 + a.M22 * b.M22);

    public static Vec3 operator *(Mat3 m, Vec3 v) => new(
        m.M00 * v.X + m.M01 * v.Y + m.M02 * v.Z,
        m.M10 * v.X + m.M11 * v.Y + m.M12 * v.Z,
        m.M20 * v.X + m.M21 * v.Y + m.M22 * v.Z);
}
