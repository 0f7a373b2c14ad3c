namespace Distill.Pose.BottomUp.Data;

/// <summary>
/// Whole-image augmentation of bottom-up training, after OpenPifPaf's cocokp defaults: horizontal flip, power-law
/// rescale (log-uniform in <see cref="ScaleRange"/>, relative to the image) with a stretch of one axis, rotation (90
/// degree steps with probability <see cref="OrientationInvariant"/>, else uniform within +-<see cref="MaxRotation"/>
/// with probability <see cref="RotateProb"/>), a random crop to <see cref="SquareEdge"/> with centre padding where the
/// image is smaller, and colour jitter (brightness, contrast, saturation, hue) and rare greyscale.
/// </summary>
public sealed record BottomupAugmentation
{
    /// <summary>Side of the square training input (OpenPifPaf's --cocokp-square-edge); s k + 1 keeps cells on pixels.</summary>
    public int SquareEdge { get; init; } = 385;

    /// <summary>Whether to augment at all (false: the image is only rescaled and padded, as in evaluation).</summary>
    public bool Enabled { get; init; } = true;

    public double HFlipProb { get; init; } = 0.5;

    /// <summary>Rescale factors relative to the image; (0.4, 2), or (0.25, 2) with extended scale.</summary>
    public (double Low, double High) ScaleRange { get; init; } = (0.4, 2.0);

    /// <summary>One axis (chosen at random) is scaled by a further factor in this range.</summary>
    public (double Low, double High) StretchRange { get; init; } = (0.75, 1.33);

    /// <summary>Probability of a rotation by a multiple of 90 degrees (OpenPifPaf's --cocokp-orientation-invariant).</summary>
    public double OrientationInvariant { get; init; }

    /// <summary>Probability of a uniform rotation within +-<see cref="MaxRotation"/> degrees (when no 90-degree step was drawn).</summary>
    public double RotateProb { get; init; } = 0.4;

    public double MaxRotation { get; init; } = 30;

    /// <summary>ColorJitter(brightness, contrast, saturation, hue) as torchvision reads them.</summary>
    public (double Brightness, double Contrast, double Saturation, double Hue) ColorJitter { get; init; } = (0.4, 0.1, 0.4, 0.1);

    public double GrayscaleProb { get; init; } = 0.01;

    /// <summary>OpenPifPaf's extended scale range (0.25 to 2) for <paramref name="extendedScale"/>, else 0.4 to 2.</summary>
    public static (double Low, double High) DefaultScaleRange(bool extendedScale) => extendedScale ? (0.25, 2.0) : (0.4, 2.0);

    public void EnsureValid()
    {
        if (SquareEdge < 2) throw new ArgumentException($"square_edge {SquareEdge} must be at least 2");
        if (!(ScaleRange.Low > 0) || ScaleRange.High < ScaleRange.Low) throw new ArgumentException($"scale range {ScaleRange} must be positive and ordered");
        if (!(StretchRange.Low > 0) || StretchRange.High < StretchRange.Low) throw new ArgumentException($"stretch range {StretchRange} must be positive and ordered");
        foreach (var (name, p) in new[] { ("hflip", HFlipProb), ("orientation_invariant", OrientationInvariant), ("rotate", RotateProb), ("grayscale", GrayscaleProb) })
            if (!(p >= 0 && p <= 1)) throw new ArgumentException($"{name} probability {p} must be in [0, 1]");
    }
}
