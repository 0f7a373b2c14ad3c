namespace Distill.Training.Engine;

/// <summary>Where a run stands after one training step.</summary>
/// <param name="Epoch">1-based epoch of the run.</param>
/// <param name="Epochs">Epochs of the whole run (self-distillation included).</param>
/// <param name="Step">Batches done in the epoch.</param>
/// <param name="Values">The step's loss terms, total and gradient norm.</param>
public sealed record StepProgress(int Epoch, int Epochs, int Step, int Steps, TimeSpan Eta, double ImagesPerSecond,
    IReadOnlyDictionary<string, double> Values);

/// <summary>
/// Receives the trainer's progress after every step; the host decides how to show it (a redrawn line on a terminal, or
/// nothing). The library itself draws nothing.
/// </summary>
public interface ITrainingProgress
{
    /// <summary>Whether every step is shown, so the trainer's periodic log lines can stay out of the console's way.</summary>
    bool ShowsSteps { get; }

    void Report(StepProgress progress);

    /// <summary>Called after each validation batch; hosts that show no validation progress need not implement it.</summary>
    void ReportValidation(ValidationProgress progress)
    {
    }
}

/// <summary>Where a validation pass stands: instances of one source's validation split predicted so far.</summary>
/// <param name="Epoch">1-based epoch being validated.</param>
public sealed record ValidationProgress(int Epoch, string Source, int Done, int Total);
