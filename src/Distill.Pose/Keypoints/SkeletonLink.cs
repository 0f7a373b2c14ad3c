namespace Distill.Pose.Keypoints;

/// <summary>A limb drawn between two keypoints, given by index into the owning <see cref="KeypointSet"/>.</summary>
public readonly record struct SkeletonLink(int From, int To, Rgb Color);
