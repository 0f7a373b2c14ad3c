namespace Distill.Pose.Synthetic;

/// <summary>The drawn pieces of a figure. The numbering is also the part's code in the scene's ownership mask.</summary>
internal enum FigurePart
{
    Torso,
    Hips,
    Neck,
    Head,
    LeftUpperArm,
    LeftForearm,
    LeftHand,
    RightUpperArm,
    RightForearm,
    RightHand,
    LeftThigh,
    LeftShin,
    LeftFoot,
    RightThigh,
    RightShin,
    RightFoot,
}

/// <summary>Which drawn parts a joint belongs to: a joint is visible when the pixel under it shows one of them.</summary>
internal static class FigureParts
{
    public static readonly int Count = Enum.GetValues<FigurePart>().Length;

    public static FigurePart[] Owners(BodyJoint j) => j switch
    {
        BodyJoint.Pelvis => [FigurePart.Hips, FigurePart.LeftThigh, FigurePart.RightThigh],
        BodyJoint.Thorax => [FigurePart.Torso, FigurePart.Neck],
        BodyJoint.UpperNeck => [FigurePart.Neck, FigurePart.Head],
        BodyJoint.HeadTop or BodyJoint.HeadCentre or BodyJoint.Nose or BodyJoint.LeftEye or BodyJoint.RightEye
            or BodyJoint.LeftEar or BodyJoint.RightEar => [FigurePart.Head],
        BodyJoint.LeftShoulder => [FigurePart.LeftUpperArm, FigurePart.Torso],
        BodyJoint.RightShoulder => [FigurePart.RightUpperArm, FigurePart.Torso],
        BodyJoint.LeftElbow => [FigurePart.LeftUpperArm, FigurePart.LeftForearm],
        BodyJoint.RightElbow => [FigurePart.RightUpperArm, FigurePart.RightForearm],
        BodyJoint.LeftWrist => [FigurePart.LeftForearm, FigurePart.LeftHand],
        BodyJoint.RightWrist => [FigurePart.RightForearm, FigurePart.RightHand],
        BodyJoint.LeftHandTip => [FigurePart.LeftHand],
        BodyJoint.RightHandTip => [FigurePart.RightHand],
        BodyJoint.LeftHip => [FigurePart.LeftThigh, FigurePart.Hips],
        BodyJoint.RightHip => [FigurePart.RightThigh, FigurePart.Hips],
        BodyJoint.LeftKnee => [FigurePart.LeftThigh, FigurePart.LeftShin],
        BodyJoint.RightKnee => [FigurePart.RightThigh, FigurePart.RightShin],
        BodyJoint.LeftAnkle => [FigurePart.LeftShin, FigurePart.LeftFoot],
        BodyJoint.RightAnkle => [FigurePart.RightShin, FigurePart.RightFoot],
        BodyJoint.LeftToe => [FigurePart.LeftFoot],
        BodyJoint.RightToe => [FigurePart.RightFoot],
        _ => throw new ArgumentOutOfRangeException(nameof(j)),
    };
}
