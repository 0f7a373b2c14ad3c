namespace Distill.Pose.Synthetic;

/// <summary>
/// Names and proportions of the synthetic figure. Lengths are fractions of standing height, roughly
/// adult anthropometry; the model origin is the pelvis (midpoint of the hips).
/// </summary>
internal static class BodyModel
{
    public static readonly int JointCount = Enum.GetValues<BodyJoint>().Length;

    /// <summary>snake_case names; the export tables refer to joints by these names only.</summary>
    public static readonly string[] Names = Enum.GetValues<BodyJoint>().Select(ToSnakeCase).ToArray();

    public static BodyJoint Find(string name)
    {
        int i = Array.IndexOf(Names, name);
        if (i < 0) throw new ArgumentException($"the synthetic body model has no joint named '{name}'");
        return (BodyJoint)i;
    }

    private static string ToSnakeCase(BodyJoint j)
    {
        var s = j.ToString();
        var sb = new System.Text.StringBuilder();
        for (int i = 0; i < s.Length; i++)
        {
            if (char.IsUpper(s[i]) && i > 0) sb.Append('_');
            sb.Append(char.ToLowerInvariant(s[i]));
        }
        return sb.ToString();
    }

    public const double HipHalfWidth = 0.09;
    public const double SpineLength = 0.29;
    public const double ShoulderHalfWidth = 0.125;
    public const double NeckLength = 0.075;
    public const double UpperArm = 0.17;
    public const double Forearm = 0.15;
    public const double Hand = 0.075;
    public const double Thigh = 0.245;
    public const double Shin = 0.245;
    public const double Foot = 0.11;

    /// <summary>Head ellipsoid semi-axes (side to side, vertical, front to back).</summary>
    public static readonly Vec3 HeadRadii = new(0.058, 0.07, 0.064);
}
