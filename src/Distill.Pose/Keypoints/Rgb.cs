namespace Distill.Pose.Keypoints;

/// <summary>An 8-bit RGB drawing colour.</summary>
public readonly record struct Rgb(byte R, byte G, byte B);
