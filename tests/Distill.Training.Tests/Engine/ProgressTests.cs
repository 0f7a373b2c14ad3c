using Distill.Training.Engine;

namespace Distill.Training.Tests.Engine;

/// <summary>The trainer reports every step to the progress sink its host gives it, across both stages of a run.</summary>
[Collection(TrainerCollection.Name)]
public sealed class ProgressTests : IDisposable
{
    // 12 synthetic COCO images hold at least 12 people; batch 4 with drop_last gives the loader's own count per epoch.
    private readonly TinyRun _run = new(seed: 7);

    public void Dispose() => _run.Dispose();

    private sealed class Recorder(bool showsSteps) : ITrainingProgress
    {
        public List<StepProgress> Reports { get; } = [];
        public bool ShowsSteps => showsSteps;
        public void Report(StepProgress progress) => Reports.Add(progress);
    }

    [Fact]
    public void EveryStepOfEveryEpochIsReportedWithItsPositionAndLosses()
    {
        var config = _run.Config("progress", "{max_epochs: 2, val_interval: 2, log_interval: 1, self_distill: {enabled: true, epochs: 1}}");
        var sink = new Recorder(showsSteps: true);
        var steps = new List<(int Stage, int Epoch, int Batch)>();
        TrainingResult result;
        using (var trainer = _run.Trainer(config, progress: sink))
        {
            trainer.AfterStep = (stage, epoch, batch) => steps.Add((stage, epoch, batch));
            result = trainer.Run(CancellationToken.None);
        }
        Assert.True(result.Completed);

        // One report per step, in order, carrying the same (1-based epoch, batch) as the trainer's own step hook.
        Assert.Equal(steps.Count, sink.Reports.Count);
        Assert.Equal(steps.Select(s => (s.Epoch + 1, s.Batch)), sink.Reports.Select(r => (r.Epoch, r.Step)));
        int perEpoch = sink.Reports[0].Steps;
        Assert.True(perEpoch >= 2);
        Assert.Equal(3 * perEpoch, sink.Reports.Count); // 2 main epochs + 1 of self-distillation
        Assert.All(sink.Reports, r => Assert.Equal(3, r.Epochs));
        Assert.All(sink.Reports, r => Assert.Equal(perEpoch, r.Steps));
        // Each report carries the step's loss terms and their total: the total is their sum.
        Assert.All(sink.Reports, r =>
        {
            Assert.Contains("loss_kpt", r.Values.Keys);
            double terms = r.Values.Where(kv => kv.Key.StartsWith("loss_", StringComparison.Ordinal)).Sum(kv => kv.Value);
            Assert.Equal(terms, r.Values["loss"], 12);
            Assert.True(r.ImagesPerSecond > 0 && r.Eta >= TimeSpan.Zero);
        });
        Assert.All(sink.Reports.Where(r => r.Epoch == 3), r => Assert.Contains("loss_kd/self", r.Values.Keys));
        // The remaining time falls to zero at the run's last step.
        Assert.Equal(TimeSpan.Zero, sink.Reports[^1].Eta);
    }
}
