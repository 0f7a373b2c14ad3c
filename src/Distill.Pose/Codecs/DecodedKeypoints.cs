namespace Distill.Pose.Codecs;

/// <summary>
/// Decoded predictions of a batch: <see cref="Keypoints"/> (N, K, 2) in input-image pixels (x, y) and
/// <see cref="Scores"/> (N, K).
/// </summary>
public sealed record DecodedKeypoints(float[,,] Keypoints, float[,] Scores)
{
    /// <summary>Number of instances N.</summary>
    public int Count => Keypoints.GetLength(0);

    /// <summary>Number of keypoints K per instance.</summary>
    public int NumKeypoints => Keypoints.GetLength(1);
}
