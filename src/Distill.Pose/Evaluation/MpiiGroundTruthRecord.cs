namespace Distill.Pose.Evaluation;

/// <summary>
/// One MPII validation person as stored in mpii_gt_val.mat (MATLAB 1-based pixel coordinates).
/// </summary>
/// <param name="HeadBox">(x1, y1, x2, y2) of the head box.</param>
/// <param name="Joints">16 x (x, y) in MPII joint order.</param>
/// <param name="Missing">16 flags; a missing joint is not scored.</param>
public sealed record MpiiGroundTruthRecord(double[] HeadBox, double[] Joints, bool[] Missing)
{
    /// <summary>0.6 x the head-box diagonal.</summary>
    public double HeadSize => MpiiPckh.HeadSize(HeadBox[0], HeadBox[1], HeadBox[2], HeadBox[3]);
}
