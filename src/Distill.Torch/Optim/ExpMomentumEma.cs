using System.Text.Json.Nodes;
using Distill.Torch.Interop;
using Distill.Torch.Nn;

namespace Distill.Torch.Optim;

/// <summary>
/// Exponential moving average of a model's weights with an exponentially annealed momentum (mmdet/mmpose's
/// ExpMomentumEMA on mmengine's BaseAveragedModel). Update number <c>steps</c> (from 0):
/// <list type="bullet">
/// <item>steps = 0: every entry is copied from the source (the average starts as the model).</item>
/// <item>otherwise, when steps % interval = 0: each floating-point entry becomes
/// avg·(1 − μ) + src·μ with μ = (1 − m)·exp(−(1 + steps)/γ) + m; integer entries (num_batches_tracked) are left
/// as they are, as mmengine does.</item>
/// </list>
/// and <see cref="Steps"/> then grows by one on every call. <see cref="Update(Module, Module)"/> averages a whole
/// module: its state-dict entries, buffers (BatchNorm statistics) included, while <see cref="UpdateBuffers"/> is true
/// (mmengine's update_buffers=True, as RTMPose trains); parameters only when it is false, the buffers then being
/// copied from the model at every update, as mmengine does.
/// </summary>
public sealed class ExpMomentumEma
{
    public ExpMomentumEma(double momentum = 2e-4, double gamma = 2000, int interval = 1)
    {
        if (!(momentum > 0 && momentum < 1)) throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "momentum must be in (0, 1)");
        Check.Positive(gamma, "gamma");
        if (interval < 1) throw new ArgumentOutOfRangeException(nameof(interval), interval, "interval must be >= 1");
        Momentum = momentum;
        Gamma = gamma;
        Interval = interval;
    }

    /// <summary>The floor m the momentum anneals to (weight of the new value, not of the average).</summary>
    public double Momentum { get; }

    public double Gamma { get; }

    public int Interval { get; }

    /// <summary>
    /// Whether <see cref="Update(Module, Module)"/> averages buffers like parameters (true) or copies them from the
    /// model (false).
    /// </summary>
    public bool UpdateBuffers { get; init; } = true;

    /// <summary>Number of <see cref="Update"/> calls so far.</summary>
    public long Steps { get; private set; }

    /// <summary>μ used by the update whose step count is <paramref name="steps"/>.</summary>
    public double MomentumAt(long steps) => (1 - Momentum) * Math.Exp(-(1.0 + steps) / Gamma) + Momentum;

    /// <summary>
    /// Folds <paramref name="source"/> into <paramref name="averaged"/>, both ordered (name, tensor) lists with the
    /// same names and shapes (a module's state-dict entries and those of its averaged copy).
    /// </summary>
    public unsafe void Update(IReadOnlyList<(string Name, Tensor Value)> averaged, IReadOnlyList<(string Name, Tensor Value)> source)
    {
        CheckPairs(averaged, source);
        if (Steps == 0)
        {
            CopyEntries(averaged, source);
        }
        else if (Steps % Interval == 0)
        {
            var avg = new List<Tensor>(averaged.Count);
            var src = new List<Tensor>(averaged.Count);
            for (int i = 0; i < averaged.Count; i++)
            {
                if (!averaged[i].Value.DType.IsFloatingPoint()) continue;
                avg.Add(averaged[i].Value);
                src.Add(source[i].Value);
            }
            using var a = new HandleArray(avg.ToArray());
            using var s = new HandleArray(src.ToArray());
            fixed (IntPtr* pa = a.Pointers)
            fixed (IntPtr* ps = s.Pointers)
                Native.Check(Native.distill_ema_update(pa, ps, avg.Count, MomentumAt(Steps)));
        }
        Steps++;
    }

    public void Update(IEnumerable<KeyValuePair<string, Tensor>> averaged, IEnumerable<KeyValuePair<string, Tensor>> source) =>
        Update(averaged.Select(kv => (kv.Key, kv.Value)).ToList(), source.Select(kv => (kv.Key, kv.Value)).ToList());

    /// <summary>
    /// Folds <paramref name="source"/> into its averaged copy <paramref name="averaged"/> (same architecture): every
    /// state-dict entry when <see cref="UpdateBuffers"/> is set; otherwise the parameters, with every buffer copied
    /// from <paramref name="source"/> as it is.
    /// </summary>
    public void Update(Module averaged, Module source)
    {
        ArgumentNullException.ThrowIfNull(averaged);
        ArgumentNullException.ThrowIfNull(source);
        if (UpdateBuffers)
        {
            Update(averaged.StateDict(), source.StateDict());
            return;
        }
        Update(averaged.NamedParameters().ToList(), source.NamedParameters().ToList());
        Copy(averaged.NamedBuffers().ToList(), source.NamedBuffers().ToList());
    }

    /// <summary>
    /// Copies every entry of <paramref name="source"/> into <paramref name="averaged"/> without counting a step
    /// (buffers that are not averaged, or keeping the average equal to the model before averaging begins).
    /// </summary>
    public static void Copy(IReadOnlyList<(string Name, Tensor Value)> averaged, IReadOnlyList<(string Name, Tensor Value)> source)
    {
        CheckPairs(averaged, source);
        CopyEntries(averaged, source);
    }

    private static void CopyEntries(IReadOnlyList<(string Name, Tensor Value)> averaged, IReadOnlyList<(string Name, Tensor Value)> source)
    {
        using var noGrad = Autograd.NoGrad();
        for (int i = 0; i < averaged.Count; i++) averaged[i].Value.Copy_(source[i].Value);
    }

    private static void CheckPairs(IReadOnlyList<(string Name, Tensor Value)> averaged, IReadOnlyList<(string Name, Tensor Value)> source)
    {
        ArgumentNullException.ThrowIfNull(averaged);
        ArgumentNullException.ThrowIfNull(source);
        if (averaged.Count != source.Count)
            throw new ArgumentException($"the averaged model has {averaged.Count} entries, the source {source.Count}");
        for (int i = 0; i < averaged.Count; i++)
        {
            var (name, a) = averaged[i];
            var (srcName, s) = source[i];
            if (name != srcName)
                throw new ArgumentException($"entry {i}: the averaged model has '{name}' where the source has '{srcName}'");
            if (!a.Shape.AsSpan().SequenceEqual(s.Shape))
                throw new ArgumentException($"entry '{name}': averaged shape [{string.Join(", ", a.Shape)}], source [{string.Join(", ", s.Shape)}]");
        }
    }

    /// <summary>The step count, the only state besides the averaged tensors themselves.</summary>
    public JsonObject StateDict() => new() { ["steps"] = Steps };

    public void LoadStateDict(JsonObject state)
    {
        ArgumentNullException.ThrowIfNull(state);
        long steps = JsonRead.Long(state, "steps", "EMA state dict");
        if (steps < 0) throw new InvalidDataException($"EMA state dict: 'steps' must be >= 0, not {steps}");
        Steps = steps;
    }
}
