using System.Text.Json.Nodes;

namespace Distill.Torch.Optim;

/// <summary>
/// Drives an optimizer's learning rates through a list of <see cref="LrSchedule"/> segments by iteration, as
/// mmengine's <c>param_scheduler</c> list does. The rate of a group at iteration i is its base rate
/// (<see cref="ParamGroup.InitialLr"/>) passed through every segment that has begun by i, in order of their
/// begin (list order among equal begins); a segment past its end contributes its last active step. Epoch
/// segments are converted to iterations when asked (<see cref="LrSchedule.ConvertToIterBased"/>), otherwise they
/// change at epoch boundaries (epoch = i / itersPerEpoch).
/// <para>
/// Being closed-form, the value does not drift and resuming needs only the iteration. It equals mmengine's
/// recursive result (up to rounding) when segments follow one another, as in the usual warm-up then decay
/// recipes, and when overlapping segments are all multiplicative (linear, multi-step, constant, or cosine with
/// η_min = 0); a cosine with η_min ≠ 0 overlapping another segment that is still changing is where mmengine's
/// recursion and this form part.
/// </para>
/// Use: construct (sets the rates of iteration 0), train one iteration, <see cref="Step"/>, and so on.
/// </summary>
public sealed class ScheduleChain
{
    private readonly Optimizer _optimizer;
    private readonly (LrSchedule Schedule, long Begin)[] _ordered;

    public ScheduleChain(Optimizer optimizer, IEnumerable<LrSchedule> schedules, long itersPerEpoch = 0)
    {
        _optimizer = optimizer ?? throw new ArgumentNullException(nameof(optimizer));
        ArgumentNullException.ThrowIfNull(schedules);
        if (itersPerEpoch < 0) throw new ArgumentOutOfRangeException(nameof(itersPerEpoch), itersPerEpoch, "iters per epoch must be >= 0");
        ItersPerEpoch = itersPerEpoch;

        var converted = new List<LrSchedule>();
        foreach (var s in schedules)
        {
            ArgumentNullException.ThrowIfNull(s, nameof(schedules));
            if (s.ByEpoch && itersPerEpoch == 0)
                throw new ArgumentException($"the {s.GetType().Name} schedule counts epochs, so iters per epoch is needed", nameof(itersPerEpoch));
            converted.Add(s.ConvertToIterBased ? s.ToIterBased(itersPerEpoch) : s);
        }
        Schedules = converted;
        _ordered = converted
            .Select((s, i) => (Schedule: s, Begin: s.ByEpoch ? checked(s.Begin * itersPerEpoch) : s.Begin, Index: i))
            .OrderBy(t => t.Begin).ThenBy(t => t.Index)
            .Select(t => (t.Schedule, t.Begin))
            .ToArray();
        Apply();
    }

    /// <summary>The segments after conversion of those asked to count iterations, in the given order.</summary>
    public IReadOnlyList<LrSchedule> Schedules { get; }

    public long ItersPerEpoch { get; }

    /// <summary>The iteration whose rates the optimizer currently holds (the next one to train).</summary>
    public long Iteration { get; private set; }

    /// <summary>The rate at <paramref name="iteration"/> for a group whose base rate is <paramref name="baseLr"/>.</summary>
    public double ValueAt(long iteration, double baseLr)
    {
        if (iteration < 0) throw new ArgumentOutOfRangeException(nameof(iteration), iteration, "iteration must be >= 0");
        double lr = baseLr;
        foreach (var (s, _) in _ordered)
        {
            long step = s.ByEpoch ? iteration / ItersPerEpoch : iteration;
            if (step < s.Begin) continue;
            lr = s.Apply(lr, baseLr, Math.Min(step, s.End - 1) - s.Begin);
        }
        return lr;
    }

    /// <summary>The rate of parameter group <paramref name="group"/> at <paramref name="iteration"/>.</summary>
    public double LrAt(long iteration, int group = 0) => ValueAt(iteration, _optimizer.ParamGroups[group].InitialLr);

    /// <summary>Moves to the next iteration and sets every group's rate for it.</summary>
    public void Step()
    {
        Iteration++;
        Apply();
    }

    private void Apply()
    {
        foreach (var g in _optimizer.ParamGroups) g.Lr = ValueAt(Iteration, g.InitialLr);
    }

    public JsonObject StateDict() => new() { ["iteration"] = Iteration };

    /// <summary>Restores the iteration and sets the rates for it (the base rates come with the optimizer's state).</summary>
    public void LoadStateDict(JsonObject state)
    {
        ArgumentNullException.ThrowIfNull(state);
        long iteration = JsonRead.Long(state, "iteration", "schedule state dict");
        if (iteration < 0) throw new InvalidDataException($"schedule state dict: 'iteration' must be >= 0, not {iteration}");
        Iteration = iteration;
        Apply();
    }
}
