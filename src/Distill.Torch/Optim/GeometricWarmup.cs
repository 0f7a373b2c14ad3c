namespace Distill.Torch.Optim;

/// <summary>
/// Geometric warm-up (OpenPifPaf's): the factor grows from <see cref="StartFactor"/> to 1 by a constant ratio per
/// step, start^(1 - k / n) at local step k of n = end - begin - 1, so every step multiplies the rate alike; after the
/// warm-up the factor stays 1.
/// </summary>
public sealed class GeometricWarmup : LrSchedule
{
    public GeometricWarmup(double startFactor, long end, long begin = 0)
        : base(begin, end, byEpoch: false, convertToIterBased: false)
    {
        if (end == Open) throw new ArgumentException("a warm-up needs a finite end", nameof(end));
        if (!(startFactor > 0 && startFactor <= 1)) throw new ArgumentOutOfRangeException(nameof(startFactor), startFactor, "start factor must be in (0, 1]");
        StartFactor = startFactor;
    }

    public double StartFactor { get; }

    public long TotalIters => End - Begin - 1;

    public double FactorAt(long k)
    {
        if (k < 0) throw new ArgumentOutOfRangeException(nameof(k), k, "local step must be >= 0");
        if (TotalIters == 0) return 1;
        return Math.Pow(StartFactor, 1 - (double)Math.Min(k, TotalIters) / TotalIters);
    }

    public override double Apply(double lr, double baseLr, long k) => lr * FactorAt(k);

    private protected override LrSchedule Scaled(long itersPerEpoch) => throw new InvalidOperationException("a geometric warm-up counts iterations");
}
