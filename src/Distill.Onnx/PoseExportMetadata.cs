namespace Distill.Onnx;

/// <summary>
/// Facts about a pose model that the network does not hold but a consumer of the file needs: keypoint names, the
/// skeleton as index pairs, and the RGB mean and std the input was normalised with (0-255 scale).
/// </summary>
public sealed record PoseExportMetadata
{
    public IReadOnlyList<string>? KeypointNames { get; init; }

    public IReadOnlyList<(int From, int To)>? Skeleton { get; init; }

    /// <summary>Per-channel RGB mean; null takes the model's.</summary>
    public IReadOnlyList<double>? Mean { get; init; }

    /// <summary>Per-channel RGB std; null takes the model's.</summary>
    public IReadOnlyList<double>? Std { get; init; }
}
