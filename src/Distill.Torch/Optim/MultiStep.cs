namespace Distill.Torch.Optim;

/// <summary>
/// mmengine's MultiStepLR: the rate is multiplied by <see cref="Gamma"/> once per milestone reached. Milestones
/// count from the segment's begin (mmengine compares them with its local step); a repeated milestone decays twice.
/// </summary>
public sealed class MultiStep : LrSchedule
{
    /// <param name="spread">Steps over which each decay is spread (OpenPifPaf's): gamma^min(1, (k - m) / spread)
    /// from milestone m on, a geometric slide instead of a jump; 0 decays at once.</param>
    public MultiStep(IEnumerable<long> milestones, double gamma = 0.1, long begin = 0, long end = Open,
                     bool byEpoch = true, bool convertToIterBased = false, long spread = 0)
        : base(begin, end, byEpoch, convertToIterBased)
    {
        if (spread < 0) throw new ArgumentOutOfRangeException(nameof(spread), spread, "spread must be >= 0");
        Spread = spread;
        ArgumentNullException.ThrowIfNull(milestones);
        Milestones = milestones.Order().ToArray();
        if (Milestones.Any(m => m < 0)) throw new ArgumentOutOfRangeException(nameof(milestones), "milestones must be >= 0");
        Gamma = gamma;
    }

    public IReadOnlyList<long> Milestones { get; }

    public double Gamma { get; }

    public long Spread { get; }

    public override double Apply(double lr, double baseLr, long k)
    {
        if (k < 0) throw new ArgumentOutOfRangeException(nameof(k), k, "local step must be >= 0");
        if (Spread > 0)
        {
            double exponent = Milestones.Sum(m => Math.Clamp((double)(k - m) / Spread, 0, 1));
            return lr * Math.Pow(Gamma, exponent);
        }
        int reached = Milestones.Count(m => m <= k);
        return lr * Math.Pow(Gamma, reached);
    }

    private protected override LrSchedule Scaled(long itersPerEpoch) =>
        new MultiStep(Milestones.Select(m => checked(m * itersPerEpoch)), Gamma, Scale(Begin, itersPerEpoch), Scale(End, itersPerEpoch),
            byEpoch: false, spread: checked(Spread * itersPerEpoch));
}
