namespace Distill.Pose.Evaluation;

/// <summary>
/// MPII PCKh as fractions in [0, 1] (mmpose prints them x 100). Joints are in MPII order
/// (0 r_ankle ... 9 head_top ... 15 l_wrist). A joint never visible has NaN accuracy; a group with such a joint is NaN.
/// </summary>
/// <param name="Threshold">The threshold of <see cref="PerJoint"/>, the groups and <see cref="Mean"/> (normally 0.5).</param>
/// <param name="PerJoint">Per-joint PCKh at <see cref="Threshold"/>.</param>
/// <param name="PerJointAt01">Per-joint PCKh at 0.1.</param>
/// <param name="VisibleCounts">Visible instances per joint.</param>
/// <param name="Head">head_top (9).</param>
/// <param name="Shoulder">Mean of joints 12 and 13.</param>
/// <param name="Elbow">Mean of joints 11 and 14.</param>
/// <param name="Wrist">Mean of joints 10 and 15.</param>
/// <param name="Hip">Mean of joints 2 and 3.</param>
/// <param name="Knee">Mean of joints 1 and 4.</param>
/// <param name="Ankle">Mean of joints 0 and 5.</param>
/// <param name="Mean">All joints except pelvis (6) and thorax (7), weighted by visible counts.</param>
/// <param name="MeanAt01">The same mean at threshold 0.1 (mmpose's PCK@0.1).</param>
public sealed record MpiiPckhResult(
    double Threshold,
    IReadOnlyList<double> PerJoint,
    IReadOnlyList<double> PerJointAt01,
    IReadOnlyList<int> VisibleCounts,
    double Head, double Shoulder, double Elbow, double Wrist, double Hip, double Knee, double Ankle,
    double Mean, double MeanAt01);
