namespace Distill.Pose.Codecs;

/// <summary>Names of encoded target arrays, spelled as mmpose's data samples spell them.</summary>
public static class TargetNames
{
    /// <summary>SimCC x-axis labels, (K, Wx).</summary>
    public const string KeypointXLabels = "keypoint_x_labels";

    /// <summary>SimCC y-axis labels, (K, Wy).</summary>
    public const string KeypointYLabels = "keypoint_y_labels";

    /// <summary>Gaussian heatmaps, (K, H, W).</summary>
    public const string Heatmaps = "heatmaps";

    /// <summary>Normalised regression targets, (K, 2).</summary>
    public const string KeypointLabels = "keypoint_labels";

    /// <summary>Per-keypoint loss weights, (K).</summary>
    public const string KeypointWeights = "keypoint_weights";
}
