using Distill.Torch;
using Distill.Training.Config.Schema;

namespace Distill.Training.Engine;

/// <summary>The process-wide settings that make an experiment repeatable: libtorch's seed and deterministic algorithms.</summary>
public static class Reproducibility
{
    /// <summary>
    /// Seeds libtorch's default generators with <see cref="ExperimentOptions.Seed"/> and switches its deterministic
    /// algorithms to <see cref="ExperimentOptions.Deterministic"/>. Both are set every time, so a deterministic run does
    /// not leave the mode on for a later run in the same process.
    /// </summary>
    public static void Apply(ExperimentOptions o)
    {
        torch.ManualSeed((ulong)o.Seed);
        torch.UseDeterministicAlgorithms(o.Deterministic);
    }
}
