using Distill.Torch.Vision;

namespace Distill.Pose.Transforms;

/// <summary>
/// One person instance as the top-down pipeline takes it: an image (in memory or a path to decode), the person box
/// (x, y, w, h) and K keypoints in image pixels.
/// </summary>
public sealed record TopdownSample
{
    /// <summary>Names the instance in errors and batch metadata (e.g. the annotation id).</summary>
    public required string Id { get; init; }

    /// <summary>The image file; decoded by the loader unless <see cref="Image"/> is given.</summary>
    public string? ImagePath { get; init; }

    /// <summary>An already decoded RGB image; never modified by the pipeline.</summary>
    public Image? Image { get; init; }

    /// <summary>Person box (x, y, w, h) in image pixels.</summary>
    public required (double X, double Y, double Width, double Height) Bbox { get; init; }

    /// <summary>K (x, y) pairs in image pixels.</summary>
    public required float[] Keypoints { get; init; }

    /// <summary>K values; below 0.5 means not labelled, 0 means the keypoint is ignored by half-body selection.</summary>
    public required float[] Visibility { get; init; }

    /// <summary>Per-keypoint loss weights (K), multiplied into the codec's weights; null means all 1.</summary>
    public float[]? KeypointWeights { get; init; }

    /// <summary>The data source the instance comes from (its data.sources name); null when it has none.</summary>
    public string? Source { get; init; }

    public int NumKeypoints => Visibility.Length;

    /// <summary>Where the sample came from, for error messages.</summary>
    public string Describe() => ImagePath is null ? $"sample '{Id}' (in-memory image)" : $"sample '{Id}' (image '{ImagePath}')";

    /// <summary>Checks shapes and numbers; the message names the sample.</summary>
    public void Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrEmpty(Id)) errors.Add("empty id");
        if (Image is null && string.IsNullOrEmpty(ImagePath)) errors.Add("neither an image nor an image path");
        if (Keypoints is null || Visibility is null) errors.Add("keypoints or visibility missing");
        else
        {
            if (Keypoints.Length != 2 * Visibility.Length)
                errors.Add($"{Keypoints.Length} keypoint coordinates for {Visibility.Length} visibility values (need 2 per keypoint)");
            if (KeypointWeights is not null && KeypointWeights.Length != Visibility.Length)
                errors.Add($"{KeypointWeights.Length} keypoint weights for {Visibility.Length} keypoints");
        }
        var (x, y, w, h) = Bbox;
        if (!double.IsFinite(x) || !double.IsFinite(y) || !(w > 0) || !(h > 0) || double.IsInfinity(w) || double.IsInfinity(h))
            errors.Add($"invalid box ({x}, {y}, {w}, {h}): width and height must be positive and finite");
        if (errors.Count > 0) throw new ArgumentException($"{Describe()}: {string.Join("; ", errors)}");
    }
}
