using Distill.Pose.Models.Checkpoints;
using Distill.Training.Distillation;
using Distill.Training.Checkpoints;
using Distill.Training.Logging;
using Distill.Training.Engine;

namespace Distill.Training.Tests.Engine;

/// <summary>Stopping inside the self-distillation of train.self_distill and resuming continues exactly where the run was.</summary>
[Collection(TrainerCollection.Name)]
public sealed class SelfDistillResumeTests : IDisposable
{
    private const string Train = "{max_epochs: 1, val_interval: 1, log_interval: 1, self_distill: {enabled: true, epochs: 2, logit_weight: 1.0}}";

    private readonly TinyRun _run = new(seed: 4);

    public void Dispose() => _run.Dispose();

    [Fact]
    public void RunStoppedInsideStageTwoResumesToTheSameWeightsAndLosses()
    {
        // EMA on: stage 2 starts from the EMA weights, which a stage-2 checkpoint no longer carries.
        var straight = _run.Train(_run.Config("straight", Train, "ema: {enabled: true}"));
        Assert.True(straight.Completed);
        Assert.Equal(Path.Combine(straight.WorkDir, RunCheckpoints.SelfDistillFile), straight.LastCheckpoint);

        // The same run, stopped after the first batch of stage 2's first epoch (epoch index 1), then resumed.
        var config = _run.Config("stopped", Train, "ema: {enabled: true}");
        var seen = new List<(int Stage, int Epoch, int Batch)>();
        TrainingResult stopped;
        using (var cts = new CancellationTokenSource())
        using (var trainer = _run.Trainer(config))
        {
            trainer.AfterStep = (stage, epoch, batch) =>
            {
                AssertChannelsLast(trainer, stage);
                seen.Add((stage, epoch, batch));
                if (stage == 2) cts.Cancel();
            };
            stopped = trainer.Run(cts.Token);
        }
        Assert.False(stopped.Completed);
        Assert.Equal((2, 1, 1), seen[^1]);
        Assert.All(seen.SkipLast(1), s => Assert.Equal(1, s.Stage));
        using (var mid = CheckpointStore.Load(Path.Combine(stopped.WorkDir, RunCheckpoints.SelfDistillFile)))
        {
            // The checkpoint records the stage and the position, and carries the frozen self-teacher (BN folded: no bn.* keys).
            Assert.Equal("2", mid.Metadata[RunCheckpoints.StageKey]);
            Assert.Equal((1, 1), (mid.State.Epoch, mid.State.BatchInEpoch));
            var teacher = mid.WithPrefix($"kd.{Distiller.SelfTeacherName}.");
            Assert.NotEmpty(teacher);
            Assert.DoesNotContain(teacher.Keys, k => k.Contains(".bn."));
            Assert.Empty(mid.WithPrefix(WeightsLoader.EmaPrefix));
            Assert.NotEmpty(mid.WithPrefix("optimizer."));
        }

        // --resume picks stage2.safetensors over last.safetensors (the end of stage 1) and so refuses a config without stage 2.
        var single = _run.Config("single", "{max_epochs: 1, val_interval: 1}", "ema: {enabled: true}", workDir: "stopped");
        var refused = Assert.Throws<TrainingException>(() => _run.Train(single, resume: ""));
        Assert.Contains(Path.Combine(stopped.WorkDir, RunCheckpoints.SelfDistillFile), refused.Message);
        Assert.Contains("train.self_distill", refused.Message);

        TrainingResult resumed;
        using (var trainer = _run.Trainer(config, resume: ""))
        {
            // The self-teacher rebuilt from the checkpoint (already BN-folded) is channels-last like the one it replaces.
            int stageTwoSteps = 0;
            trainer.AfterStep = (stage, _, _) =>
            {
                AssertChannelsLast(trainer, stage);
                if (stage == 2) stageTwoSteps++;
            };
            resumed = trainer.Run(CancellationToken.None);
            Assert.True(stageTwoSteps > 0);
        }
        Assert.True(resumed.Completed);
        Assert.Equal(straight.Iterations, resumed.Iterations);
        Assert.Equal(straight.EpochsDone, resumed.EpochsDone);

        using (var a = CheckpointStore.Load(straight.LastCheckpoint))
        using (var b = CheckpointStore.Load(resumed.LastCheckpoint))
        {
            var sa = a.WithPrefix(WeightsLoader.StudentPrefix);
            var sb = b.WithPrefix(WeightsLoader.StudentPrefix);
            Assert.Equal(sa.Keys.Order(), sb.Keys.Order());
            foreach (var (key, t) in sa) Assert.True(t.AllClose(sb[key], 1e-5, 1e-7), $"{key} differs after resuming stage 2");
        }

        // Every per-step loss of both stages, and the final stage-2 validation, as in the straight run. The resumed
        // run appends to the stopped run's metrics.jsonl, so together they must give the straight run's lines.
        var want = Losses(straight.WorkDir);
        var got = Losses(resumed.WorkDir);
        Assert.Equal(want.Keys.Order(), got.Keys.Order());
        Assert.Contains(want.Keys, k => k.Name == "self_distill/train/loss_kd/self");
        foreach (var (key, value) in want) Assert.True(Math.Abs(value - got[key]) <= 1e-5 * Math.Max(1, Math.Abs(value)), $"{key}: {value} vs {got[key]}");
        Assert.Equal(straight.LastMetrics.Keys.Order(), resumed.LastMetrics.Keys.Order());
        foreach (var (key, value) in straight.LastMetrics) Assert.Equal(value, resumed.LastMetrics[key], 1e-6);
    }

    /// <summary>
    /// The student (channels-last by default, being convolutional), its EMA and, in stage 2, the self-teacher all keep
    /// NHWC weights through the run, stage switch and resume.
    /// </summary>
    private static void AssertChannelsLast(Trainer trainer, int stage)
    {
        ChannelsLastStudentTests.AssertLayout(trainer, channelsLast: true);
        var roles = trainer.Networks.Select(n => n.Role).ToList();
        Assert.Contains("student", roles);
        Assert.Equal(stage == 2, roles.Contains(Distiller.SelfTeacherName));
    }

    /// <summary>Per-step loss terms (stage 1 under train/, stage 2 under stage2/) and stage-2 validation metrics, keyed by (name, step).</summary>
    private static Dictionary<(string Name, long Step), double> Losses(string workDir)
    {
        var lines = new Dictionary<(string, long), double>();
        foreach (var r in MetricsLog.Read(Path.Combine(workDir, MetricsLog.FileName)))
            foreach (var (name, value) in r.Metrics)
                if (name.StartsWith("train/loss") || name.StartsWith("self_distill/train/loss") || name.StartsWith("self_distill/val/"))
                    Assert.True(lines.TryAdd((name, r.Step), value), $"{name} logged twice at step {r.Step}");
        return lines;
    }
}
