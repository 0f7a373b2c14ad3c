namespace Distill.Pose.Evaluation;

/// <summary>
/// mmpose's 'bbox_keypoint' instance score: a top-down prediction inherits its person box's detector score, which
/// says nothing about pose quality, so it is multiplied by the mean confidence of the keypoints the model is sure of.
/// </summary>
public static class KeypointRescoring
{
    /// <summary>mmpose's default keypoint score threshold.</summary>
    public const double DefaultThreshold = 0.2;

    /// <summary>
    /// boxScore x mean of the keypoint scores strictly above <paramref name="threshold"/>; 0 when none is above it.
    /// </summary>
    public static double Rescore(double boxScore, ReadOnlySpan<double> keypointScores, double threshold = DefaultThreshold)
    {
        double sum = 0;
        int count = 0;
        foreach (double s in keypointScores)
            if (s > threshold) { sum += s; count++; }
        return count == 0 ? 0 : boxScore * (sum / count);
    }
}
