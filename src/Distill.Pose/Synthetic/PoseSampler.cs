namespace Distill.Pose.Synthetic;

/// <summary>
/// Draws random poses: an everyday activity (standing, walking, running, sitting, reaching, ...) with its typical
/// angles, jittered, or a free pose anywhere inside the joint limits, then clamped to the limits.
/// </summary>
internal static class PoseSampler
{
    private enum Activity { Stand, Walk, Run, ArmsUp, ArmsOut, Sit, Squat, Reach, Kick, Wave, Free, BendOver, WideStance }

    private static readonly double[] ActivityWeights = [0.06, 0.1, 0.1, 0.07, 0.06, 0.1, 0.08, 0.08, 0.07, 0.06, 0.13, 0.05, 0.04];

    public static BodyPose Sample(SynthRandom rng)
    {
        var p = new BodyPose();
        var activity = (Activity)rng.Weighted(ActivityWeights);
        // Resting arms hang slightly away from the body with a soft elbow.
        for (int s = 0; s < 2; s++)
        {
            p.ShoulderFlex[s] = rng.Uniform(-15, 25);
            p.ShoulderAbduct[s] = rng.Uniform(4, 22);
            p.ArmTwist[s] = rng.Uniform(-60, 10);
            p.Elbow[s] = rng.Uniform(0, 35);
            p.HipFlex[s] = rng.Uniform(-5, 10);
            p.HipAbduct[s] = rng.Uniform(0, 10);
            p.LegTwist[s] = rng.Uniform(-10, 20);
            p.Knee[s] = rng.Uniform(0, 10);
            p.Ankle[s] = rng.Uniform(-5, 10);
        }
        p.SpineBend = rng.Uniform(-5, 10);
        int a = rng.Int(0, 2), b = 1 - a; // which side leads in one-sided activities
        double phase = rng.Uniform(-1, 1);

        switch (activity)
        {
            case Activity.Stand:
                break;
            case Activity.Walk:
                p.HipFlex[a] = 28 * Math.Abs(phase);
                p.HipFlex[b] = -18 * Math.Abs(phase);
                p.Knee[a] = rng.Uniform(0, 25);
                p.Knee[b] = rng.Uniform(10, 55);
                p.ShoulderFlex[a] = -25 * Math.Abs(phase);
                p.ShoulderFlex[b] = 30 * Math.Abs(phase);
                p.Elbow[0] = rng.Uniform(10, 45);
                p.Elbow[1] = rng.Uniform(10, 45);
                break;
            case Activity.Run:
                p.HipFlex[a] = rng.Uniform(40, 85);
                p.HipFlex[b] = rng.Uniform(-28, 5);
                p.Knee[a] = rng.Uniform(40, 100);
                p.Knee[b] = rng.Uniform(50, 130);
                p.ShoulderFlex[a] = rng.Uniform(-50, -15);
                p.ShoulderFlex[b] = rng.Uniform(30, 70);
                p.Elbow[0] = rng.Uniform(70, 115);
                p.Elbow[1] = rng.Uniform(70, 115);
                p.ArmTwist[0] = rng.Uniform(-40, 0);
                p.ArmTwist[1] = rng.Uniform(-40, 0);
                p.SpineBend = rng.Uniform(5, 22);
                break;
            case Activity.ArmsUp:
                for (int s = 0; s < 2; s++)
                {
                    if (rng.Chance(0.5)) p.ShoulderAbduct[s] = rng.Uniform(130, 175);
                    else { p.ShoulderFlex[s] = rng.Uniform(140, 180); p.ShoulderAbduct[s] = rng.Uniform(0, 30); }
                    p.Elbow[s] = rng.Uniform(0, 50);
                }
                break;
            case Activity.ArmsOut:
                for (int s = 0; s < 2; s++)
                {
                    p.ShoulderAbduct[s] = rng.Uniform(65, 105);
                    p.ShoulderFlex[s] = rng.Uniform(-10, 40);
                    p.Elbow[s] = rng.Uniform(0, 40);
                }
                break;
            case Activity.Sit:
                for (int s = 0; s < 2; s++)
                {
                    p.HipFlex[s] = rng.Uniform(70, 105);
                    p.Knee[s] = rng.Uniform(65, 115);
                    p.HipAbduct[s] = rng.Uniform(0, 25);
                    p.ShoulderFlex[s] = rng.Uniform(-10, 60);
                    p.Elbow[s] = rng.Uniform(10, 100);
                }
                p.SpineBend = rng.Uniform(-10, 25);
                break;
            case Activity.Squat:
                for (int s = 0; s < 2; s++)
                {
                    p.HipFlex[s] = rng.Uniform(85, 125);
                    p.Knee[s] = rng.Uniform(100, 150);
                    p.HipAbduct[s] = rng.Uniform(5, 35);
                    p.ShoulderFlex[s] = rng.Uniform(30, 95);
                    p.Elbow[s] = rng.Uniform(0, 90);
                    p.Ankle[s] = rng.Uniform(10, 40);
                }
                p.SpineBend = rng.Uniform(20, 50);
                break;
            case Activity.Reach:
                p.ShoulderFlex[a] = rng.Uniform(60, 120);
                p.ShoulderAbduct[a] = rng.Uniform(-10, 45);
                p.Elbow[a] = rng.Uniform(0, 25);
                p.SpineTwist = rng.Uniform(-25, 25);
                break;
            case Activity.Kick:
                if (rng.Chance(0.5)) { p.HipFlex[a] = rng.Uniform(50, 110); p.Knee[a] = rng.Uniform(0, 50); }
                else { p.HipFlex[a] = rng.Uniform(60, 110); p.Knee[a] = rng.Uniform(90, 145); }
                p.ShoulderAbduct[0] = rng.Uniform(20, 80);
                p.ShoulderAbduct[1] = rng.Uniform(20, 80);
                p.SpineBend = rng.Uniform(-15, 15);
                break;
            case Activity.Wave:
                p.ShoulderAbduct[a] = rng.Uniform(80, 150);
                p.ShoulderFlex[a] = rng.Uniform(-10, 50);
                p.Elbow[a] = rng.Uniform(50, 130);
                p.ArmTwist[a] = rng.Uniform(-90, -40);
                break;
            case Activity.Free:
                p.SpineBend = U(rng, BodyPose.Limits.SpineBend);
                p.SpineSide = U(rng, BodyPose.Limits.SpineSide);
                p.SpineTwist = U(rng, BodyPose.Limits.SpineTwist);
                for (int s = 0; s < 2; s++)
                {
                    p.ShoulderFlex[s] = U(rng, BodyPose.Limits.ShoulderFlex);
                    p.ShoulderAbduct[s] = U(rng, BodyPose.Limits.ShoulderAbduct);
                    p.ArmTwist[s] = U(rng, BodyPose.Limits.ArmTwist);
                    p.Elbow[s] = U(rng, BodyPose.Limits.Elbow);
                    p.HipFlex[s] = rng.Uniform(-25, 100);
                    p.HipAbduct[s] = rng.Uniform(-10, 45);
                    p.Knee[s] = rng.Uniform(0, 130);
                    p.LegTwist[s] = U(rng, BodyPose.Limits.LegTwist);
                }
                break;
            case Activity.BendOver:
                p.SpineBend = rng.Uniform(40, 60);
                for (int s = 0; s < 2; s++)
                {
                    p.ShoulderFlex[s] = rng.Uniform(20, 90);
                    p.Elbow[s] = rng.Uniform(0, 40);
                    p.HipFlex[s] = rng.Uniform(10, 40);
                }
                p.HeadPitch = -20;
                break;
            case Activity.WideStance:
                for (int s = 0; s < 2; s++)
                {
                    p.HipAbduct[s] = rng.Uniform(18, 45);
                    p.Knee[s] = rng.Uniform(5, 45);
                    p.HipFlex[s] = rng.Uniform(0, 25);
                    p.ShoulderAbduct[s] = rng.Uniform(10, 80);
                    p.Elbow[s] = rng.Uniform(0, 120);
                }
                break;
        }

        p.SpineSide += rng.Normal(0, 6);
        p.SpineTwist += rng.Normal(0, 10);
        p.SpineBend += rng.Normal(0, 5);
        p.HeadYaw = rng.Normal(0, 28);
        p.HeadPitch += rng.Normal(5, 12);
        p.HeadRoll = rng.Normal(0, 8);
        for (int s = 0; s < 2; s++)
        {
            p.ShoulderFlex[s] += rng.Normal(0, 7);
            p.ShoulderAbduct[s] += rng.Normal(0, 6);
            p.Elbow[s] += rng.Normal(0, 6);
            p.HipFlex[s] += rng.Normal(0, 5);
            p.Knee[s] += rng.Normal(0, 5);
        }
        p.Clamp();
        return p;
    }

    private static double U(SynthRandom rng, (double Min, double Max) r) => rng.Uniform(r.Min, r.Max);
}
