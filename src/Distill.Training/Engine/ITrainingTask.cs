using Distill.Pose.Data;
using Distill.Pose.Keypoints;
using Distill.Torch;
using Distill.Torch.Nn;
using Distill.Training.Logging;

namespace Distill.Training.Engine;

/// <summary>
/// What one model family brings to the shared training loop: the student and its EMA copy, the batches of an epoch,
/// the loss terms of a batch (distillation included) and the validation metrics. Everything else (optimizer step,
/// clipping, the non-finite guard, logging, the EMA update, checkpoints, resume, the data-parallel reducer, progress)
/// is the loop's, the same for every family. <see cref="TopdownTask"/> trains crops with codecs and teachers;
/// <see cref="BottomupTask"/> trains whole images against CIF/CAF field targets.
/// </summary>
public interface ITrainingTask : IDisposable
{
    /// <summary>The network being trained (checkpointed under student.).</summary>
    Module Student { get; }

    /// <summary>Its exponential moving average (checkpointed under ema.student.); null without train EMA.</summary>
    Module? EmaModel { get; }

    KeypointSet KeypointSet { get; }

    /// <summary>Distillation modules with trainable parameters, by name (checkpointed under kd.NAME.).</summary>
    IEnumerable<(string Name, Module Module)> Adapters { get; }

    /// <summary>Every module a checkpoint stores under kd.NAME.: the adapters and any frozen module a resume needs.</summary>
    IEnumerable<(string Name, Module Module)> CheckpointModules { get; }

    /// <summary>The distillation networks beyond student and EMA, by role (kept equal across data-parallel workers).</summary>
    IEnumerable<(string Role, Module Network)> DistillationNetworks { get; }

    /// <summary>Batches of one epoch this worker trains on.</summary>
    int BatchesPerEpoch { get; }

    /// <summary>Samples of one epoch this worker trains on.</summary>
    int SamplesPerEpoch { get; }

    /// <summary>The batches of an epoch, skipping the first <paramref name="skipBatches"/> (resume inside an epoch).</summary>
    IEnumerable<LoadedBatch<TrainingBatch>> Epoch(int epoch, int skipBatches, CancellationToken ct);

    /// <summary>
    /// The student's forward on one batch of this task and every named loss term, already weighted; the loop sums them.
    /// Terms and outputs live in the caller's dispose scope; the caller disposes the outputs.
    /// </summary>
    /// <param name="mainStage">False during a second, head-only stage (top-down self-distillation).</param>
    (Dictionary<string, Tensor> Terms, IDisposable Outputs) Forward(TrainingBatch batch, int epoch, bool mainStage);

    /// <summary>The validation metrics of <paramref name="model"/> (the student or its EMA), named SOURCE/METRIC.</summary>
    Dictionary<string, double> Validate(Module model, int epoch, Action<string, int, int>? progress);

    /// <summary>Validation pictures for TensorBoard, where the family draws them.</summary>
    void LogValidationImages(RunLogger logger, Module model, string prefix, long iteration);

    /// <summary>Metadata every checkpoint of the run carries (besides the config and its hash).</summary>
    IReadOnlyDictionary<string, string> CheckpointMetadata { get; }

    /// <summary>
    /// Trainable student parameters the forward never reaches (say backbone stages after the last output the head
    /// reads): no worker ever has a gradient for them, so the data-parallel gradient reducer leaves them out, which it
    /// would otherwise wait for and fail on. Only found when training data-parallel; none by default.
    /// </summary>
    IReadOnlyCollection<Tensor> UnreachedParameters => [];
}

/// <summary>A batch as the loop sees it: made and read by one task, counted and disposed by the loop.</summary>
public abstract class TrainingBatch : IDisposable
{
    /// <summary>Samples in the batch (images the throughput counts).</summary>
    public abstract int Count { get; }

    public abstract void Dispose();
}

/// <summary>A task's own batch type inside the loop's <see cref="TrainingBatch"/>.</summary>
public sealed class TrainingBatch<T>(T value, Func<T, int> count) : TrainingBatch where T : IDisposable
{
    public T Value { get; } = value;

    public override int Count => count(Value);

    public override void Dispose() => Value.Dispose();

    /// <summary>The batches of a task's loader as the loop takes them.</summary>
    public static IEnumerable<LoadedBatch<TrainingBatch>> Wrap(IEnumerable<LoadedBatch<T>> batches, Func<T, int> count) =>
        batches.Select(b => new LoadedBatch<TrainingBatch>(b.Index, new TrainingBatch<T>(b.Value, count), b.DataWait));
}
