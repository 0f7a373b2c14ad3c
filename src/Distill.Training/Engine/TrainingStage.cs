using Distill.Pose.Models;
using Distill.Torch.Optim;

namespace Distill.Training.Engine;

/// <summary>
/// One stage of a run as the epoch loop sees it: which epochs it covers (numbered across the whole run, so the data
/// order of an epoch never depends on the stage), what it optimises, which weights it validates, where its rolling
/// checkpoint goes and under which names it logs. Stage 1 is the main run; stage 2 is the optional head-only
/// self-distillation of train.two_stage.
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
    public required TopdownPoseEstimator EvalModel { get; init; }

    /// <summary>The checkpoint rewritten at every epoch end and on a stop.</summary>
    public required string LastPath { get; init; }

    /// <summary>Prefix of the per-step scalars ("train/"), the epoch means ("epoch/") and the validation metrics ("val/").</summary>
    public required string StepPrefix { get; init; }

    public required string EpochPrefix { get; init; }

    public required string ValPrefix { get; init; }

    /// <summary>The frozen, BN-folded copy of the stage-1 result that stage 2 distils from; null in stage 1.</summary>
    public TopdownPoseEstimator? SelfTeacher { get; init; }

    /// <summary>Whether this stage owns (and disposes) its optimizer and self-teacher.</summary>
    public bool OwnsResources { get; init; }

    /// <summary>Stage 1 feeds the weight EMA and tracks the best checkpoint; stage 2 retrains the student directly.</summary>
    public bool IsMain => Number == 1;

    public int EpochInStage(int epoch) => epoch - FirstEpoch;

    public void Dispose()
    {
        if (!OwnsResources) return;
        Optimizer.Dispose();
        SelfTeacher?.Dispose();
    }
}
