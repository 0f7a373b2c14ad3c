namespace Distill.Torch.Optim;

/// <summary>
/// One segment of a learning-rate schedule (an entry of mmengine's <c>param_scheduler</c> list), in closed form.
/// It is active for steps in [<see cref="Begin"/>, <see cref="End"/>), counted in iterations, or in epochs when
/// <see cref="ByEpoch"/>; after <see cref="End"/> the learning rate keeps the value of its last active step.
/// <see cref="ConvertToIterBased"/> turns an epoch segment into an iteration one (begin, end and lengths times the
/// iterations per epoch), so it changes every iteration instead of once per epoch.
/// </summary>
public abstract class LrSchedule
{
    /// <summary>Marks a segment without an end (mmengine's INF).</summary>
    public const long Open = long.MaxValue;

    private protected LrSchedule(long begin, long end, bool byEpoch, bool convertToIterBased)
    {
        if (begin < 0) throw new ArgumentOutOfRangeException(nameof(begin), begin, "begin must be >= 0");
        if (end <= begin) throw new ArgumentOutOfRangeException(nameof(end), end, $"end must be larger than begin ({begin})");
        if (convertToIterBased && !byEpoch)
            throw new ArgumentException("only an epoch-based schedule (byEpoch) can be converted to iterations");
        Begin = begin;
        End = end;
        ByEpoch = byEpoch;
        ConvertToIterBased = convertToIterBased;
    }

    public long Begin { get; }

    /// <summary>First step no longer updated (exclusive), or <see cref="Open"/>.</summary>
    public long End { get; }

    public bool ByEpoch { get; }

    public bool ConvertToIterBased { get; }

    /// <summary>
    /// The learning rate after local step <paramref name="k"/> (0 at <see cref="Begin"/>), given the value
    /// <paramref name="lr"/> it had when the segment began and the group's base (initial) rate.
    /// </summary>
    public abstract double Apply(double lr, double baseLr, long k);

    /// <summary>This epoch-based segment counted in iterations: begin, end and lengths times <paramref name="itersPerEpoch"/>.</summary>
    public LrSchedule ToIterBased(long itersPerEpoch)
    {
        if (!ByEpoch) throw new InvalidOperationException($"this {GetType().Name} schedule already counts iterations");
        if (itersPerEpoch < 1) throw new ArgumentOutOfRangeException(nameof(itersPerEpoch), itersPerEpoch, "iters per epoch must be >= 1");
        return Scaled(itersPerEpoch);
    }

    /// <summary>The iteration-based copy; only called on epoch-based segments.</summary>
    private protected abstract LrSchedule Scaled(long itersPerEpoch);

    private protected static long Scale(long value, long itersPerEpoch) =>
        value == Open ? Open : checked(value * itersPerEpoch);
}
