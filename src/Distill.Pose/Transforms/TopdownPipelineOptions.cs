using Distill.Pose.Codecs;

namespace Distill.Pose.Transforms;

/// <summary>
/// The fixed part of the top-down pipeline: crop size, box padding, normalisation, the keypoint set's flip and
/// half-body ids, the target codec and the teachers' input sizes. The random part is a <see cref="TopdownAugmentation"/>
/// chosen per epoch.
/// </summary>
public sealed record TopdownPipelineOptions
{
    /// <summary>Network input (w, h), e.g. (192, 256).</summary>
    public required (int Width, int Height) InputSize { get; init; }

    /// <summary>Encodes the training target; null skips target encoding (inference crops).</summary>
    public IKeypointCodec? Codec { get; init; }

    /// <summary>Box padding of mmpose's <c>GetBBoxCenterScale</c>.</summary>
    public double Padding { get; init; } = BBoxCenterScale.DefaultPadding;

    /// <summary>RGB mean in 0..255 units.</summary>
    public IReadOnlyList<double> Mean { get; init; } = ImageNormalization.ImageNetMean;

    /// <summary>RGB std in 0..255 units.</summary>
    public IReadOnlyList<double> Std { get; init; } = ImageNormalization.ImageNetStd;

    /// <summary>Keypoint i becomes keypoint FlipIndices[i] when mirrored; needed whenever flipping can happen.</summary>
    public IReadOnlyList<int>? FlipIndices { get; init; }

    /// <summary>Upper-body keypoint ids for the half-body step.</summary>
    public IReadOnlyList<int> UpperBodyIds { get; init; } = [];

    /// <summary>Lower-body keypoint ids for the half-body step.</summary>
    public IReadOnlyList<int> LowerBodyIds { get; init; } = [];

    /// <summary>Input sizes (w, h) of teachers that see the same sample; one extra crop each.</summary>
    public IReadOnlyList<(int Width, int Height)> TeacherInputSizes { get; init; } = [];

    /// <summary>Every invalid setting, named; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (InputSize.Width <= 0 || InputSize.Height <= 0) errors.Add($"{nameof(InputSize)} must be positive, got {InputSize}");
        if (Codec is not null && Codec.InputSize != InputSize)
            errors.Add($"codec {Codec.TypeName} has input size {Codec.InputSize}, the pipeline {InputSize}");
        if (!(Padding > 0) || double.IsInfinity(Padding)) errors.Add($"{nameof(Padding)} must be positive, got {Padding}");
        if (Mean is null || Mean.Count != 3) errors.Add($"{nameof(Mean)} needs 3 values");
        if (Std is null || Std.Count != 3 || Std.Any(s => !(s > 0))) errors.Add($"{nameof(Std)} needs 3 positive values");
        if (FlipIndices is not null)
        {
            try
            {
                RandomFlip.CheckIndices(FlipIndices, FlipIndices.Count);
            }
            catch (ArgumentException e)
            {
                errors.Add($"{nameof(FlipIndices)}: {e.Message}");
            }
        }
        foreach (var size in TeacherInputSizes ?? [])
            if (size.Width <= 0 || size.Height <= 0) errors.Add($"teacher input size {size} must be positive");
        return errors;
    }
}
