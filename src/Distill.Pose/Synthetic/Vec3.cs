namespace Distill.Pose.Synthetic;

/// <summary>A point or direction in the figure's 3-D model space (x = the person's left, y = up, z = forward).</summary>
internal readonly record struct Vec3(double X, double Y, double Z)
{
    public static Vec3 operator +(Vec3 a, Vec3 b) => new(a.X + b.X, a.Y + b.Y, a.Z + b.Z);
    public static Vec3 operator -(Vec3 a, Vec3 b) => new(a.X - b.X, a.Y - b.Y, a.Z - b.Z);
    public static Vec3 operator *(Vec3 a, double s) => new(a.X * s, a.Y * s, a.Z * s);
    public static Vec3 operator *(double s, Vec3 a) => a * s;

    public double Length => Math.Sqrt(X * X + Y * Y + Z * Z);

    public Vec3 Normalized()
    {
        double l = Length;
        return l > 0 ? this * (1.0 / l) : this;
    }

    public static readonly Vec3 Up = new(0, 1, 0);
    public static readonly Vec3 Down = new(0, -1, 0);
    public static readonly Vec3 Forward = new(0, 0, 1);
}
