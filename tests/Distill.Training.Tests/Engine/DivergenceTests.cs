using Distill.Torch.Serialization;
using Distill.Training.Checkpoints;
using Distill.Training.Engine;

namespace Distill.Training.Tests.Engine;

/// <summary>A run whose learning rate makes it diverge stops at its first non-finite step and leaves only finite checkpoints.</summary>
[Collection(TrainerCollection.Name)]
public sealed class DivergenceTests : IDisposable
{
    private readonly TinyRun _run = new(seed: 11);

    public void Dispose() => _run.Dispose();

    private sealed class Recorder : ITrainingProgress
    {
        public List<StepProgress> Reports { get; } = [];
        public bool ShowsSteps => true;
        public void Report(StepProgress progress) => Reports.Add(progress);
    }

    [Fact]
    public void DivergingRunStopsAtTheFirstNonFiniteStepAndPointsToTheLastGoodCheckpoint()
    {
        // A linear warm-up towards an absurd rate: the first epoch trains at small rates and ends with a rolling
        // checkpoint; the rate then grows until a step's loss or gradient norm overflows.
        var config = _run.Config("diverge", "{max_epochs: 20, val_interval: 20, log_interval: 1}",
            "checkpoint: {interval: 1, keep_last: 0}");
        var sink = new Recorder();
        TrainingException error;
        using (var trainer = _run.Trainer(config, progress: sink,
                   set: ["optimizer.type=SGD", "optimizer.lr=1.0e4", "schedule.warmup_iters=1000", "schedule.warmup_ratio=1.0e-7"]))
            error = Assert.Throws<TrainingException>(() => trainer.Run(CancellationToken.None));

        var work = Path.Combine(_run.Dir, "diverge");
        int perEpoch = sink.Reports[0].Steps;
        // It got past the first epoch, so there is a checkpoint to go back to.
        Assert.True(sink.Reports.Count >= perEpoch, $"diverged after {sink.Reports.Count} of {perEpoch} steps, before the first epoch ended: {error.Message} " +
            string.Join("; ", sink.Reports.Select(r => $"{r.Values["loss"]:G3} {r.Values["grad_norm"]:G3}")));
        // Every step that ran to the end was finite: the guard fires on the first step that is not, before logging it.
        foreach (var r in sink.Reports)
            foreach (var (name, v) in r.Values)
                Assert.True(double.IsFinite(v), $"epoch {r.Epoch} step {r.Step}: {name} = {v} was reported, the run went on past it");
        Assert.Contains($"iteration {sink.Reports.Count + 1})", error.Message);

        // No file promising a model holds NaN or infinity, and none is named as if it were a recovery point.
        Assert.False(File.Exists(Path.Combine(work, "nan_guard.safetensors")));
        var files = Directory.GetFiles(work, "*.safetensors");
        Assert.NotEmpty(files);
        foreach (var file in files)
        {
            var tensors = SafeTensors.Load(file);
            try
            {
                Assert.Empty(CheckpointStore.NonFinite(tensors));
            }
            finally
            {
                foreach (var t in tensors.Values) t.Dispose();
            }
        }

        // The message points to the last good rolling checkpoint, which holds the last finished epoch.
        var last = Path.Combine(work, RunCheckpoints.LastFile);
        Assert.Contains($"The last good checkpoint is {last}", error.Message);
        using var ckpt = CheckpointStore.Load(last);
        Assert.Equal(sink.Reports.Count / perEpoch, ckpt.State.Epoch);
        Assert.Equal(0, ckpt.State.BatchInEpoch);
    }

    [Fact]
    public void CheckpointOfANonFiniteModelIsNotWritten()
    {
        using var model = new Distill.Torch.Nn.Linear(3, 2);
        using (Distill.Torch.Autograd.NoGrad()) model.Weight.Fill_(double.NaN);
        var path = Path.Combine(_run.Dir, "nan.safetensors");
        var e = Assert.Throws<NonFiniteStateException>(() =>
            CheckpointStore.Save(path, model, null, [], null, null, null, new TrainingState(), new Dictionary<string, string>()));
        Assert.Equal(["student.weight"], e.Tensors);
        Assert.False(File.Exists(path));
        Assert.Empty(Directory.GetFiles(_run.Dir, "nan.safetensors*"));
    }
}
