namespace Distill.Pose.Transforms;

/// <summary>
/// Random augmentation settings of the top-down training pipeline, named after mmpose's transforms and their
/// arguments. The defaults are RTMPose's stage-1 COCO recipe; <see cref="RtmposeStage2"/> is its milder last stage.
/// A probability of 0 turns a step off.
/// </summary>
public sealed record TopdownAugmentation
{
    // RandomFlip
    public double FlipProb { get; init; } = 0.5;

    // RandomHalfBody
    public double HalfBodyProb { get; init; } = 0.3;
    public int HalfBodyMinTotalKeypoints { get; init; } = 9;
    public int HalfBodyMinUpperKeypoints { get; init; } = 2;
    public int HalfBodyMinLowerKeypoints { get; init; } = 3;
    public double HalfBodyPadding { get; init; } = 1.5;

    /// <summary>Probability of keeping the upper body when both halves qualify.</summary>
    public double HalfBodyUpperPrioritizedProb { get; init; } = 0.7;

    // RandomBBoxTransform: each factor multiplies a standard normal truncated to [-1, 1].
    public double ShiftFactor { get; init; } = 0.16;
    public double ShiftProb { get; init; } = 0.3;

    /// <summary>Box scale range; the draw is mu + sigma x truncnorm with mu, sigma the range's middle and half width.</summary>
    public (double Min, double Max) ScaleFactor { get; init; } = (0.6, 1.4);
    public double ScaleProb { get; init; } = 1.0;

    /// <summary>Rotation limit in degrees.</summary>
    public double RotateFactor { get; init; } = 80;
    public double RotateProb { get; init; } = 0.6;

    // YOLOXHSVRandomAug: per channel, gain = trunc(uniform(-1, 1) x delta), each channel kept with probability 1/2.
    public double HsvProb { get; init; } = 1.0;
    public int HueDelta { get; init; } = 5;
    public int SaturationDelta { get; init; } = 30;
    public int ValueDelta { get; init; } = 30;

    // Albumentation Blur and MedianBlur: an odd kernel drawn from the limits.
    public double BlurProb { get; init; } = 0.1;
    public (int Min, int Max) BlurLimit { get; init; } = (3, 7);
    public double MedianBlurProb { get; init; } = 0.1;
    public (int Min, int Max) MedianBlurLimit { get; init; } = (3, 7);

    // Albumentation CoarseDropout with fractional hole sizes.
    public double CoarseDropoutProb { get; init; } = 1.0;
    public (int Min, int Max) CoarseDropoutHoles { get; init; } = (1, 1);

    /// <summary>Hole height as a fraction of the crop height.</summary>
    public (double Min, double Max) CoarseDropoutHeight { get; init; } = (0.2, 0.4);

    /// <summary>Hole width as a fraction of the crop width.</summary>
    public (double Min, double Max) CoarseDropoutWidth { get; init; } = (0.2, 0.4);
    public byte CoarseDropoutFill { get; init; }

    /// <summary>RTMPose's stage-1 recipe (the defaults).</summary>
    public static TopdownAugmentation RtmposeStage1 { get; } = new();

    /// <summary>RTMPose's last-epochs recipe: no shift, scale [0.75, 1.25], rotation 60, dropout p 0.5.</summary>
    public static TopdownAugmentation RtmposeStage2 { get; } = new()
    {
        ShiftFactor = 0,
        ScaleFactor = (0.75, 1.25),
        RotateFactor = 60,
        CoarseDropoutProb = 0.5,
    };

    /// <summary>Everything off: the deterministic evaluation crop.</summary>
    public static TopdownAugmentation None { get; } = new()
    {
        FlipProb = 0, HalfBodyProb = 0, ShiftProb = 0, ScaleProb = 0, RotateProb = 0, HsvProb = 0,
        BlurProb = 0, MedianBlurProb = 0, CoarseDropoutProb = 0,
    };

    /// <summary>Every invalid setting, named; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        void Prob(string name, double p)
        {
            if (!(p >= 0 && p <= 1)) errors.Add($"{name} must be a probability in [0, 1], got {p}");
        }
        void NonNegative(string name, double v)
        {
            if (!(v >= 0) || double.IsInfinity(v)) errors.Add($"{name} must be finite and non-negative, got {v}");
        }
        void Kernel(string name, (int Min, int Max) k)
        {
            if (k.Min < 3 || k.Max < k.Min || k.Min % 2 == 0 || k.Max % 2 == 0)
                errors.Add($"{name} must be odd kernel sizes 3 <= min <= max, got ({k.Min}, {k.Max})");
        }
        void Fraction(string name, (double Min, double Max) r)
        {
            if (!(r.Min >= 0 && r.Min <= r.Max && r.Max <= 1)) errors.Add($"{name} must satisfy 0 <= min <= max <= 1, got ({r.Min}, {r.Max})");
        }

        Prob(nameof(FlipProb), FlipProb);
        Prob(nameof(HalfBodyProb), HalfBodyProb);
        Prob(nameof(HalfBodyUpperPrioritizedProb), HalfBodyUpperPrioritizedProb);
        if (HalfBodyMinTotalKeypoints < 0) errors.Add($"{nameof(HalfBodyMinTotalKeypoints)} must be non-negative");
        if (HalfBodyMinUpperKeypoints < 1) errors.Add($"{nameof(HalfBodyMinUpperKeypoints)} must be at least 1");
        if (HalfBodyMinLowerKeypoints < 1) errors.Add($"{nameof(HalfBodyMinLowerKeypoints)} must be at least 1");
        if (!(HalfBodyPadding > 0)) errors.Add($"{nameof(HalfBodyPadding)} must be positive, got {HalfBodyPadding}");
        NonNegative(nameof(ShiftFactor), ShiftFactor);
        Prob(nameof(ShiftProb), ShiftProb);
        if (!(ScaleFactor.Min > 0 && ScaleFactor.Min <= ScaleFactor.Max) || double.IsInfinity(ScaleFactor.Max))
            errors.Add($"{nameof(ScaleFactor)} must satisfy 0 < min <= max, got ({ScaleFactor.Min}, {ScaleFactor.Max})");
        Prob(nameof(ScaleProb), ScaleProb);
        NonNegative(nameof(RotateFactor), RotateFactor);
        Prob(nameof(RotateProb), RotateProb);
        Prob(nameof(HsvProb), HsvProb);
        if (HueDelta < 0 || SaturationDelta < 0 || ValueDelta < 0)
            errors.Add($"HSV deltas must be non-negative, got ({HueDelta}, {SaturationDelta}, {ValueDelta})");
        Prob(nameof(BlurProb), BlurProb);
        Kernel(nameof(BlurLimit), BlurLimit);
        Prob(nameof(MedianBlurProb), MedianBlurProb);
        Kernel(nameof(MedianBlurLimit), MedianBlurLimit);
        Prob(nameof(CoarseDropoutProb), CoarseDropoutProb);
        if (CoarseDropoutHoles.Min < 0 || CoarseDropoutHoles.Max < CoarseDropoutHoles.Min)
            errors.Add($"{nameof(CoarseDropoutHoles)} must satisfy 0 <= min <= max, got ({CoarseDropoutHoles.Min}, {CoarseDropoutHoles.Max})");
        Fraction(nameof(CoarseDropoutHeight), CoarseDropoutHeight);
        Fraction(nameof(CoarseDropoutWidth), CoarseDropoutWidth);
        return errors;
    }

    /// <summary>Throws one exception listing every invalid setting.</summary>
    public void EnsureValid()
    {
        var errors = Validate();
        if (errors.Count > 0) throw new ArgumentException("invalid top-down augmentation: " + string.Join("; ", errors));
    }
}
