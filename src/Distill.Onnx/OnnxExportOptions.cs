namespace Distill.Onnx;

/// <summary>How a pose model is written as ONNX.</summary>
public sealed record OnnxExportOptions
{
    public const int MinOpset = 13;
    public const int MaxOpset = 17;

    /// <summary>The standard operator set version, 13 to 17.</summary>
    public int Opset { get; init; } = 17;

    /// <summary>A fixed batch size, or null for a symbolic "batch" axis that accepts any size.</summary>
    public int? StaticBatch { get; init; }

    /// <summary>Fold each BatchNorm into the preceding convolution (no BatchNormalization nodes remain).</summary>
    public bool FoldBatchNorm { get; init; } = true;

    /// <summary>Also output decoded "keypoints" (N, K, 2) in input pixels and "scores" (N, K), computed in the graph.</summary>
    public bool Decode { get; init; }

    /// <summary>
    /// Avoid operators that some edge runtimes and converters lack: HardSigmoid is written as Clip(x / 6 + 0.5, 0, 1).
    /// </summary>
    public bool EdgeSafe { get; init; }

    /// <summary>Keypoint names, skeleton and normalisation written into the file's metadata.</summary>
    public PoseExportMetadata? Pose { get; init; }

    /// <summary>Extra metadata_props entries; keys must not collide with the ones the exporter writes.</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }

    /// <summary>Every problem with these options, empty when they are usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (Opset < MinOpset || Opset > MaxOpset)
            problems.Add($"opset {Opset} is not supported (use {MinOpset} to {MaxOpset})");
        if (StaticBatch is int b && b < 1)
            problems.Add($"static batch size must be at least 1, got {b}");
        return problems;
    }
}
