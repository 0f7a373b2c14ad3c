namespace Distill.Torch.Optim;

/// <summary>
/// mmengine's ConstantLR: the rate is multiplied by <see cref="Factor"/> from <c>begin</c> and restored at the
/// last active step (end − 1), so it stays restored afterwards. Without an end the factor holds for good.
/// </summary>
public sealed class Constant : LrSchedule
{
    public Constant(double factor = 1.0 / 3, long begin = 0, long end = Open, bool byEpoch = true, bool convertToIterBased = false)
        : base(begin, end, byEpoch, convertToIterBased)
    {
        if (!(factor >= 0 && factor <= 1)) throw new ArgumentOutOfRangeException(nameof(factor), factor, "factor must be in [0, 1]");
        Factor = factor;
    }

    public double Factor { get; }

    public override double Apply(double lr, double baseLr, long k)
    {
        if (k < 0) throw new ArgumentOutOfRangeException(nameof(k), k, "local step must be >= 0");
        bool restored = End != Open && k >= End - Begin - 1;
        return restored ? lr : lr * Factor;
    }

    private protected override LrSchedule Scaled(long itersPerEpoch) =>
        new Constant(Factor, Scale(Begin, itersPerEpoch), Scale(End, itersPerEpoch), byEpoch: false);
}
