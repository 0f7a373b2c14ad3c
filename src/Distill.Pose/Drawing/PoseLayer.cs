namespace Distill.Pose.Drawing;

/// <summary>One pose to draw: (x, y) pairs, one score or visibility per keypoint, 0-based links and the look.</summary>
public sealed record PoseLayer(
    double[] Keypoints,
    double[] Scores,
    IReadOnlyList<(int A, int B)> Skeleton,
    (byte R, byte G, byte B) Colour,
    double Radius = 3,
    int Thickness = 2,
    double KptThreshold = 0.3);
