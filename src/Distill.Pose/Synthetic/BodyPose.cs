namespace Distill.Pose.Synthetic;

/// <summary>Joint angles of one figure, in degrees. Index 0 of the per-side arrays is the left side.</summary>
internal sealed class BodyPose
{
    public double SpineBend, SpineSide, SpineTwist;
    public double HeadYaw, HeadPitch, HeadRoll;
    public readonly double[] ShoulderFlex = new double[2], ShoulderAbduct = new double[2], ArmTwist = new double[2], Elbow = new double[2];
    public readonly double[] HipFlex = new double[2], HipAbduct = new double[2], LegTwist = new double[2], Knee = new double[2], Ankle = new double[2];

    /// <summary>Joint limits (min, max), chosen from typical human ranges of motion.</summary>
    public static class Limits
    {
        public static readonly (double, double) SpineBend = (-25, 60), SpineSide = (-25, 25), SpineTwist = (-35, 35);
        public static readonly (double, double) HeadYaw = (-70, 70), HeadPitch = (-35, 45), HeadRoll = (-25, 25);
        public static readonly (double, double) ShoulderFlex = (-50, 180), ShoulderAbduct = (-15, 175), ArmTwist = (-90, 40), Elbow = (0, 150);
        public static readonly (double, double) HipFlex = (-30, 125), HipAbduct = (-12, 60), LegTwist = (-30, 40), Knee = (0, 150), Ankle = (-25, 45);
    }

    public void Clamp()
    {
        SpineBend = C(SpineBend, Limits.SpineBend);
        SpineSide = C(SpineSide, Limits.SpineSide);
        SpineTwist = C(SpineTwist, Limits.SpineTwist);
        HeadYaw = C(HeadYaw, Limits.HeadYaw);
        HeadPitch = C(HeadPitch, Limits.HeadPitch);
        HeadRoll = C(HeadRoll, Limits.HeadRoll);
        for (int s = 0; s < 2; s++)
        {
            ShoulderFlex[s] = C(ShoulderFlex[s], Limits.ShoulderFlex);
            ShoulderAbduct[s] = C(ShoulderAbduct[s], Limits.ShoulderAbduct);
            ArmTwist[s] = C(ArmTwist[s], Limits.ArmTwist);
            Elbow[s] = C(Elbow[s], Limits.Elbow);
            HipFlex[s] = C(HipFlex[s], Limits.HipFlex);
            HipAbduct[s] = C(HipAbduct[s], Limits.HipAbduct);
            LegTwist[s] = C(LegTwist[s], Limits.LegTwist);
            Knee[s] = C(Knee[s], Limits.Knee);
            Ankle[s] = C(Ankle[s], Limits.Ankle);
        }
    }

    private static double C(double v, (double Min, double Max) r) => Math.Clamp(v, r.Min, r.Max);
}
