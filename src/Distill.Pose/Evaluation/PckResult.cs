namespace Distill.Pose.Evaluation;

/// <summary>
/// Percentage of correct keypoints, as fractions in [0, 1].
/// </summary>
/// <param name="PerKeypoint">Accuracy of each keypoint over the instances where it is visible; NaN if it never is.</param>
/// <param name="Counts">Visible instances per keypoint.</param>
/// <param name="Mean">mmpose's average: the unweighted mean of the defined per-keypoint accuracies (NaN if none).</param>
public sealed record PckResult(IReadOnlyList<double> PerKeypoint, IReadOnlyList<int> Counts, double Mean);
