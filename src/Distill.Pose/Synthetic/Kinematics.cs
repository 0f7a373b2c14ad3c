namespace Distill.Pose.Synthetic;

/// <summary>Forward kinematics: joint angles to 3-D joint positions in model space, plus the head's frame.</summary>
internal static class Kinematics
{
    public readonly record struct Result(Vec3[] Joints, Mat3 Spine, Mat3 Head);

    public static Result Solve(BodyPose p, double headScale)
    {
        var j = new Vec3[BodyModel.JointCount];
        var pelvis = new Vec3(0, 0, 0);
        j[(int)BodyJoint.Pelvis] = pelvis;

        // Forward bend tips the trunk towards +z, side bend towards -x for positive angles.
        var spine = Mat3.RotY(p.SpineTwist) * Mat3.RotZ(p.SpineSide) * Mat3.RotX(p.SpineBend);
        var thorax = pelvis + spine * new Vec3(0, BodyModel.SpineLength, 0);
        j[(int)BodyJoint.Thorax] = thorax;

        var neck = spine * Mat3.RotX(0.5 * p.HeadPitch);
        var upperNeck = thorax + neck * new Vec3(0, BodyModel.NeckLength, 0.012);
        j[(int)BodyJoint.UpperNeck] = upperNeck;

        var head = spine * Mat3.RotY(p.HeadYaw) * Mat3.RotX(p.HeadPitch) * Mat3.RotZ(p.HeadRoll);
        var r = BodyModel.HeadRadii * headScale;
        var centre = upperNeck + head * new Vec3(0, 0.8 * r.Y, 0.2 * r.Z);
        j[(int)BodyJoint.HeadCentre] = centre;
        j[(int)BodyJoint.HeadTop] = centre + head * new Vec3(0, r.Y, 0);
        j[(int)BodyJoint.Nose] = centre + head * new Vec3(0, -0.2 * r.Y, 1.1 * r.Z);
        j[(int)BodyJoint.LeftEye] = centre + head * new Vec3(0.38 * r.X, 0.12 * r.Y, 0.9 * r.Z);
        j[(int)BodyJoint.RightEye] = centre + head * new Vec3(-0.38 * r.X, 0.12 * r.Y, 0.9 * r.Z);
        j[(int)BodyJoint.LeftEar] = centre + head * new Vec3(r.X, 0, -0.05 * r.Z);
        j[(int)BodyJoint.RightEar] = centre + head * new Vec3(-r.X, 0, -0.05 * r.Z);

        for (int s = 0; s < 2; s++)
        {
            double sign = s == 0 ? 1 : -1; // the left side is +x
            var shoulder = thorax + spine * new Vec3(sign * BodyModel.ShoulderHalfWidth, -0.025, -0.01);
            // Abduction swings the arm outwards, flexion forwards, twist turns the elbow's bending plane.
            var arm = spine * Mat3.RotZ(sign * p.ShoulderAbduct[s]) * Mat3.RotX(-p.ShoulderFlex[s]) * Mat3.RotY(sign * p.ArmTwist[s]);
            var elbow = shoulder + arm * new Vec3(0, -BodyModel.UpperArm, 0);
            var fore = arm * Mat3.RotX(-p.Elbow[s]); // the elbow folds the forearm to the front
            var wrist = elbow + fore * new Vec3(0, -BodyModel.Forearm, 0);
            var handTip = wrist + fore * new Vec3(0, -BodyModel.Hand, 0.01);

            var hip = pelvis + new Vec3(sign * BodyModel.HipHalfWidth, 0, 0);
            var thigh = Mat3.RotZ(sign * p.HipAbduct[s]) * Mat3.RotX(-p.HipFlex[s]) * Mat3.RotY(sign * p.LegTwist[s]);
            var knee = hip + thigh * new Vec3(0, -BodyModel.Thigh, 0);
            var shin = thigh * Mat3.RotX(p.Knee[s]); // the knee folds the shin to the back
            var ankle = knee + shin * new Vec3(0, -BodyModel.Shin, 0);
            var toe = ankle + shin * Mat3.RotX(-p.Ankle[s]) * new Vec3(0, -0.035, BodyModel.Foot);

            j[(int)(s == 0 ? BodyJoint.LeftShoulder : BodyJoint.RightShoulder)] = shoulder;
            j[(int)(s == 0 ? BodyJoint.LeftElbow : BodyJoint.RightElbow)] = elbow;
            j[(int)(s == 0 ? BodyJoint.LeftWrist : BodyJoint.RightWrist)] = wrist;
            j[(int)(s == 0 ? BodyJoint.LeftHandTip : BodyJoint.RightHandTip)] = handTip;
            j[(int)(s == 0 ? BodyJoint.LeftHip : BodyJoint.RightHip)] = hip;
            j[(int)(s == 0 ? BodyJoint.LeftKnee : BodyJoint.RightKnee)] = knee;
            j[(int)(s == 0 ? BodyJoint.LeftAnkle : BodyJoint.RightAnkle)] = ankle;
            j[(int)(s == 0 ? BodyJoint.LeftToe : BodyJoint.RightToe)] = toe;
        }
        return new Result(j, spine, head);
    }
}
