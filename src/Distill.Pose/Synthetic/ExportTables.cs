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

    public static readonly BodyJoint[] CocoJoints = Coco.Select(e => BodyModel.Find(e.Joint)).ToArray();

    public static readonly BodyJoint[] MpiiJoints = Mpii.Select(e => BodyModel.Find(e.Joint)).ToArray();
}
