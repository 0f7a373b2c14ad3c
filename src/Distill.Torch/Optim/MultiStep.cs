namespace Distill.Torch.Optim;

/// <summary>
/// mmengine's MultiStepLR: the rate is multiplied by <see cref="Gamma"/> once per milestone reached. Milestones
/// count from the segment's begin (mmengine compares them with its local step); a repeated milestone decays twice.
/// </summary>
public sealed class MultiStep : LrSchedule
{
    public MultiStep(IEnumerable<long> milestones, double gamma = 0.1, long begin = 0, long end = Open,
                     bool byEpoch = true, bool convertToIterBased = false)
        : base(begin, end, byEpoch, convertToIterBased)
    {
        ArgumentNullException.ThrowIfNull(milestones);
        Milestones = milestones.Order().ToArray();
        if (Milestones.Any(m => m < 0)) throw new ArgumentOutOfRangeException(nameof(milestones), "milestones must be >= 0");
        Gamma = gamma;
    }

    public IReadOnlyList<long> Milestones { get; }

    public double Gamma { get; }

    public override double Apply(double lr, double baseLr, long k)
    {
        if (k < 0) throw new ArgumentOutOfRangeException(nameof(k), k, "local step must be >= 0");
        int reached = Milestones.Count(m => m <= k);
        return lr * Math.Pow(Gamma, reached);
    }

    private protected override LrSchedule Scaled(long itersPerEpoch) =>
        new MultiStep(Milestones.Select(m => checked(m * itersPerEpoch)), Gamma, Scale(Begin, itersPerEpoch), Scale(End, itersPerEpoch),
            byEpoch: false);
}
