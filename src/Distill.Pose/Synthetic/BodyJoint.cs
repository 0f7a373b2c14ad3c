namespace Distill.Pose.Synthetic;

/// <summary>
/// The points of the synthetic figure's kinematic model: every exported keypoint plus a few helper points
/// (head centre, hand tips, toes) that only shape the drawing.
/// </summary>
internal enum BodyJoint
{
    Pelvis,
    Thorax,
    UpperNeck,
    HeadTop,
    HeadCentre,
    Nose,
    LeftEye,
    RightEye,
    LeftEar,
    RightEar,
    LeftShoulder,
    RightShoulder,
    LeftElbow,
    RightElbow,
    LeftWrist,
    RightWrist,
    LeftHandTip,
    RightHandTip,
    LeftHip,
    RightHip,
    LeftKnee,
    RightKnee,
    LeftAnkle,
    RightAnkle,
    LeftToe,
    RightToe,
}
