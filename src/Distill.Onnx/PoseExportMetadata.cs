namespace Distill.Onnx;

/// <summary>
/// Facts about a pose model that the network does not hold but a consumer of the file needs: keypoint names, the
/// skeleton as index pairs, the RGB mean and std the input was normalised with (0-255 scale), and the keypoint set's
/// name and OKS sigmas (which person-level scoring needs).
/// </summary>
public sealed record PoseExportMetadata
{
    /// <summary>The keypoint set's name (coco17, mpii16, ...).</summary>
    public string? KeypointSet { get; init; }

    /// <summary>Per-keypoint OKS sigmas of the keypoint set.</summary>
    public IReadOnlyList<double>? Sigmas { get; init; }

    public IReadOnlyList<string>? KeypointNames { get; init; }

    public IReadOnlyList<(int From, int To)>? Skeleton { get; init; }

    /// <summary>Per-channel RGB mean; null takes the model's.</summary>
    public IReadOnlyList<double>? Mean { get; init; }

    /// <summary>Per-channel RGB std; null takes the model's.</summary>
    public IReadOnlyList<double>? Std { get; init; }
}
