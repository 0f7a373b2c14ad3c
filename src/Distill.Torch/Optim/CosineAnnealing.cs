namespace Distill.Torch.Optim;

/// <summary>
/// mmengine's CosineAnnealingLR: from the rate it had at <c>begin</c> (η_max) down to η_min over T_max steps,
/// lr(k) = η_min + (η_max − η_min)·(1 + cos(π·k/T_max))/2, continuing periodically past T_max as mmengine's
/// recursion does. η_min is absolute (<c>eta_min</c>, the same for every group) or relative to each group's base
/// rate (<c>eta_min_ratio</c>); T_max defaults to end − begin.
/// </summary>
public sealed class CosineAnnealing : LrSchedule
{
    public CosineAnnealing(long begin, long end, long? tMax = null, double? etaMin = null, double? etaMinRatio = null,
                           bool byEpoch = true, bool convertToIterBased = false)
        : base(begin, end, byEpoch, convertToIterBased)
    {
        if (etaMin is not null && etaMinRatio is not null)
            throw new ArgumentException("give either eta_min or eta_min_ratio, not both");
        if (tMax is null && end == Open) throw new ArgumentException("T_max is needed when the schedule has no end", nameof(tMax));
        TMax = tMax ?? end - begin;
        if (TMax < 1) throw new ArgumentOutOfRangeException(nameof(tMax), TMax, "T_max must be >= 1");
        EtaMinRatio = etaMinRatio;
        EtaMin = etaMinRatio is null ? etaMin ?? 0 : null;
    }

    public long TMax { get; }

    /// <summary>The absolute floor, or null when <see cref="EtaMinRatio"/> is used.</summary>
    public double? EtaMin { get; }

    public double? EtaMinRatio { get; }

    public double EtaMinFor(double baseLr) => EtaMin ?? baseLr * EtaMinRatio!.Value;

    public override double Apply(double lr, double baseLr, long k)
    {
        if (k < 0) throw new ArgumentOutOfRangeException(nameof(k), k, "local step must be >= 0");
        double etaMin = EtaMinFor(baseLr);
        return etaMin + (lr - etaMin) * (1 + Math.Cos(Math.PI * k / TMax)) / 2;
    }

    private protected override LrSchedule Scaled(long itersPerEpoch) =>
        new CosineAnnealing(Scale(Begin, itersPerEpoch), Scale(End, itersPerEpoch), checked(TMax * itersPerEpoch), EtaMin, EtaMinRatio,
            byEpoch: false);
}
