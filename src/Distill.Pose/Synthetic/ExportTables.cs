namespace Distill.Pose.Synthetic;

/// <summary>
/// Keypoint orders of the two exported formats, written as names of the synthetic body model's joints.
/// COCO: the 17-keypoint person category. MPII: the 16 joints in the order of mmpose's MPII annotations.
/// </summary>
internal static class ExportTables
{
    /// <summary>COCO keypoint names as they appear in the category, each with the body-model joint it exports.</summary>
    public static readonly (string Name, string Joint)[] Coco =
    [
        ("nose", "nose"), ("left_eye", "left_eye"), ("right_eye", "right_eye"), ("left_ear", "left_ear"),
        ("right_ear", "right_ear"), ("left_shoulder", "left_shoulder"), ("right_shoulder", "right_shoulder"),
        ("left_elbow", "left_elbow"), ("right_elbow", "right_elbow"), ("left_wrist", "left_wrist"),
        ("right_wrist", "right_wrist"), ("left_hip", "left_hip"), ("right_hip", "right_hip"), ("left_knee", "left_knee"),
        ("right_knee", "right_knee"), ("left_ankle", "left_ankle"), ("right_ankle", "right_ankle"),
    ];

    /// <summary>The COCO person skeleton, 1-based keypoint indices as in the COCO category.</summary>
    public static readonly int[][] CocoSkeleton =
    [
        [16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13], [6, 7], [6, 8], [7, 9], [8, 10], [9, 11],
        [2, 3], [1, 2], [1, 3], [2, 4], [3, 5], [4, 6], [5, 7],
    ];

    public static readonly (string Name, string Joint)[] Mpii =
    [
        ("right_ankle", "right_ankle"), ("right_knee", "right_knee"), ("right_hip", "right_hip"), ("left_hip", "left_hip"),
        ("left_knee", "left_knee"), ("left_ankle", "left_ankle"), ("pelvis", "pelvis"), ("thorax", "thorax"),
        ("upper_neck", "upper_neck"), ("head_top", "head_top"), ("right_wrist", "right_wrist"),
        ("right_elbow", "right_elbow"), ("right_shoulder", "right_shoulder"), ("left_shoulder", "left_shoulder"),
        ("left_elbow", "left_elbow"), ("left_wrist", "left_wrist"),
    ];

    /// <summary>AI Challenger's 14 keypoints in its order, named as its files name them (mmpose's converted JSON).</summary>
    public static readonly (string Name, string Joint)[] Aic =
    [
        ("right_shoulder", "right_shoulder"), ("right_elbow", "right_elbow"), ("right_wrist", "right_wrist"),
        ("left_shoulder", "left_shoulder"), ("left_elbow", "left_elbow"), ("left_wrist", "left_wrist"),
        ("right_hip", "right_hip"), ("right_knee", "right_knee"), ("right_ankle", "right_ankle"), ("left_hip", "left_hip"),
        ("left_knee", "left_knee"), ("left_ankle", "left_ankle"), ("head_top", "head_top"), ("neck", "upper_neck"),
    ];

    /// <summary>AIC's limbs, 1-based.</summary>
    public static readonly int[][] AicSkeleton =
    [
        [3, 2], [2, 1], [1, 14], [14, 4], [4, 5], [5, 6], [9, 8], [8, 7], [7, 10], [10, 11], [11, 12], [13, 14], [1, 7], [4, 10],
    ];

    /// <summary>CrowdPose's 14 keypoints in its order, named as in its files.</summary>
    public static readonly (string Name, string Joint)[] CrowdPose =
    [
        ("left_shoulder", "left_shoulder"), ("right_shoulder", "right_shoulder"), ("left_elbow", "left_elbow"),
        ("right_elbow", "right_elbow"), ("left_wrist", "left_wrist"), ("right_wrist", "right_wrist"), ("left_hip", "left_hip"),
        ("right_hip", "right_hip"), ("left_knee", "left_knee"), ("right_knee", "right_knee"), ("left_ankle", "left_ankle"),
        ("right_ankle", "right_ankle"), ("top_head", "head_top"), ("neck", "upper_neck"),
    ];

    /// <summary>CrowdPose's limbs, 1-based.</summary>
    public static readonly int[][] CrowdPoseSkeleton =
    [
        [11, 9], [9, 7], [12, 10], [10, 8], [7, 8], [1, 7], [2, 8], [1, 2], [1, 3], [2, 4], [3, 5], [4, 6], [13, 14], [2, 14], [1, 14],
    ];

    public static readonly BodyJoint[] CocoJoints = Coco.Select(e => BodyModel.Find(e.Joint)).ToArray();

    public static readonly BodyJoint[] MpiiJoints = Mpii.Select(e => BodyModel.Find(e.Joint)).ToArray();
}
