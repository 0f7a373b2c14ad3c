namespace Distill.Torch.Optim;

/// <summary>
/// mmengine's LinearLR: the rate is multiplied by a factor moving linearly from <see cref="StartFactor"/> at
/// <c>begin</c> to <see cref="EndFactor"/> at the last active step <c>end − 1</c>:
/// factor(k) = start + (end − start)·min(k, T)/T with T = end − begin − 1. mmengine computes the same values
/// recursively (lr_k = lr_{k−1}·(1 + (end − start)/(T·start + (k − 1)(end − start)))), which telescopes to this
/// closed form; the two differ only by rounding.
/// </summary>
public sealed class LinearWarmup : LrSchedule
{
    public LinearWarmup(double startFactor, long end, long begin = 0, double endFactor = 1.0,
                        bool byEpoch = false, bool convertToIterBased = false)
        : base(begin, end, byEpoch, convertToIterBased)
    {
        if (end == Open) throw new ArgumentException("a linear schedule needs a finite end", nameof(end));
        if (!(startFactor >= 0 && startFactor <= 1)) throw new ArgumentOutOfRangeException(nameof(startFactor), startFactor, "start_factor must be in [0, 1]");
        if (!(endFactor >= 0 && endFactor <= 1)) throw new ArgumentOutOfRangeException(nameof(endFactor), endFactor, "end_factor must be in [0, 1]");
        StartFactor = startFactor;
        EndFactor = endFactor;
    }

    public double StartFactor { get; }

    public double EndFactor { get; }

    /// <summary>Steps from the first to the last active one (end − begin − 1).</summary>
    public long TotalIters => End - Begin - 1;

    public double FactorAt(long k)
    {
        if (k < 0) throw new ArgumentOutOfRangeException(nameof(k), k, "local step must be >= 0");
        if (TotalIters == 0) return StartFactor;
        return StartFactor + (EndFactor - StartFactor) * Math.Min(k, TotalIters) / TotalIters;
    }

    public override double Apply(double lr, double baseLr, long k) => lr * FactorAt(k);

    private protected override LrSchedule Scaled(long itersPerEpoch) =>
        new LinearWarmup(StartFactor, Scale(End, itersPerEpoch), Scale(Begin, itersPerEpoch), EndFactor);
}
