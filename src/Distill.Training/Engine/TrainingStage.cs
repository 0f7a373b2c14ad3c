using Distill.Torch.Optim;

namespace Distill.Training.Engine;

/// <summary>
/// One phase of a run as the epoch loop sees it: which epochs it covers (numbered across the whole run, so the data
/// order of an epoch never depends on the phase), what it optimises, which weights it validates, where its rolling
/// checkpoint goes and under which names it logs. Stage 1 is the main run; stage 2 is the optional head-only
/// self-distillation of train.self_distill.
/// </summary>
internal sealed class TrainingStage : IDisposable
{
    /// <summary>1 or 2; recorded in every checkpoint so --resume re-enters the right stage.</summary>
    public required int Number { get; init; }

    /// <summary>First epoch of the stage (0-based, counted from the start of the run).</summary>
    public required int FirstEpoch { get; init; }

    /// <summary>One past the last epoch of the stage.</summary>
    public required int EndEpoch { get; init; }

    public required Optimizer Optimizer { get; init; }

    public required ScheduleChain Schedule { get; init; }

    /// <summary>The weights validation and the best-checkpoint choice look at.</summary>
    public required Distill.Torch.Nn.Module EvalModel { get; init; }

    /// <summary>The checkpoint rewritten at every epoch end and on a stop.</summary>
    public required string LastPath { get; init; }

    /// <summary>Prefix of every tag the stage logs: "" for the main run, "self_distill/" for self-distillation.</summary>
    public required string TagPrefix { get; init; }

    /// <summary>Whether this stage owns (and disposes) its optimizer.</summary>
    public bool OwnsOptimizer { get; init; }

    /// <summary>Averages this stage's gradients over the data-parallel workers; null when training alone.</summary>
    public Torch.Distributed.Reducer? Reducer { get; init; }

    /// <summary>Whether this stage owns (and disposes) its reducer.</summary>
    public bool OwnsReducer { get; init; }

    /// <summary>Stage 1 feeds the weight EMA and tracks the best checkpoint; self-distillation retrains the student directly.</summary>
    public bool IsMain => Number == 1;

    /// <summary>Words that place a log line in the stage ("" in the main run).</summary>
    public string Label => IsMain ? "" : "self-distillation ";

    public string StepPrefix => TagPrefix + "train/";

    public string EpochPrefix => TagPrefix + "epoch/";

    public string ValPrefix => TagPrefix + "val/";

    public int EpochInStage(int epoch) => epoch - FirstEpoch;

    public void Dispose()
    {
        if (OwnsOptimizer) Optimizer.Dispose();
        if (OwnsReducer) Reducer?.Dispose();
    }
}
