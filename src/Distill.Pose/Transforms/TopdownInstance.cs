namespace Distill.Pose.Transforms;

/// <summary>
/// The mutable state of one instance while the geometric steps run: box centre, scale and rotation, the flip, and the
/// keypoints with their visibility and weights (all in the possibly mirrored image's coordinates).
/// </summary>
public sealed class TopdownInstance
{
    public TopdownInstance(int imageWidth, int imageHeight, (double X, double Y) center, (double Width, double Height) scale,
        float[] keypoints, float[] visibility, float[] keypointWeights)
    {
        ArgumentNullException.ThrowIfNull(keypoints);
        ArgumentNullException.ThrowIfNull(visibility);
        ArgumentNullException.ThrowIfNull(keypointWeights);
        if (keypoints.Length != 2 * visibility.Length || keypointWeights.Length != visibility.Length)
            throw new ArgumentException($"{keypoints.Length} coordinates, {visibility.Length} visibilities and {keypointWeights.Length} weights do not describe the same K keypoints");
        ImageWidth = imageWidth;
        ImageHeight = imageHeight;
        Center = center;
        Scale = scale;
        Keypoints = keypoints;
        Visibility = visibility;
        KeypointWeights = keypointWeights;
    }

    public int ImageWidth { get; }

    public int ImageHeight { get; }

    public (double X, double Y) Center { get; set; }

    public (double Width, double Height) Scale { get; set; }

    /// <summary>Degrees.</summary>
    public double Rotation { get; set; }

    public bool Flipped { get; set; }

    /// <summary>K (x, y) pairs.</summary>
    public float[] Keypoints { get; set; }

    public float[] Visibility { get; set; }

    public float[] KeypointWeights { get; set; }

    public int NumKeypoints => Visibility.Length;
}
