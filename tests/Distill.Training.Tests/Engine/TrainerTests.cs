using Distill.Pose.Synthetic;
using Distill.Training.Checkpoints;
using Distill.Training.Config;
using Distill.Training.Logging;
using Distill.Training.Engine;
using Distill.Training.Tests.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Distill.Training.Tests.Engine;

/// <summary>End-to-end runs of the trainer on a tiny synthetic dataset: supervised, resumed, and distilled.</summary>
[Collection(TrainerCollection.Name)]
public sealed class TrainerTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "distill-trainer-" + Guid.NewGuid().ToString("N"));

    public TrainerTests()
    {
        Synth.Generate(new SynthOptions { OutDir = Path.Combine(_dir, "data"), Seed = 1, CocoImages = 20, MpiiImages = 20, Threads = 2 });
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    private string WriteConfig(string name, string keypointSet, string extra)
    {
        var d = Path.Combine(_dir, "data").Replace('\\', '/');
        var yaml = $$$"""
            name: {{{name}}}
            work_dir: {{{_dir}}}/{{{name}}}
            threads: 2
            model:
              keypoint_set: {{{keypointSet}}}
              input_size: [48, 64]
              backbone: {type: CSPNeXt, deepen_factor: 0.167, widen_factor: 0.125}
              head: {type: RTMCCHead, gau: {hidden_dims: 32, s: 16}}
              codec: {type: SimCCLabel, sigma: [1.5, 1.5], normalize: false}
            data:
              sources:
                - {name: coco, format: coco, ann_file: {{{d}}}/coco/annotations/person_keypoints_train.json, img_dir: {{{d}}}/coco/images/train,
                   val_ann_file: {{{d}}}/coco/annotations/person_keypoints_val.json, val_img_dir: {{{d}}}/coco/images/val}
                - {name: mpii, format: mpii, ann_file: {{{d}}}/mpii/annotations/mpii_train.json, img_dir: {{{d}}}/mpii/images,
                   val_ann_file: {{{d}}}/mpii/annotations/mpii_val.json}
              batch_size: 8
              val_batch_size: 8
              num_workers: 2
            optimizer: {type: AdamW, lr: 1.0e-3, weight_decay: 0.0}
            schedule: {type: cosine, warmup_iters: 2}
            ema: {enabled: true}
            train: {max_epochs: 2, val_interval: 1, log_interval: 1}
            evaluation: {metrics: [coco, pckh, pck], best_metric: coco/AP}
            checkpoint: {interval: 1, keep_last: 1}
            {{{extra}}}
            """;
        var path = Path.Combine(_dir, name + ".yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    private TrainingResult Train(string config, string? resume = null, CancellationToken ct = default)
    {
        var o = ExperimentConfig.Load(config, [], out var resolved);
        using var trainer = new Trainer(o, resolved, new TrainingRequest { ConfigPath = config, Resume = resume },
            NullLogger.Instance);
        return trainer.Run(ct);
    }

    [Fact]
    public void SupervisedRunWritesCheckpointsLogsAndResumesExactly()
    {
        var config = WriteConfig("sup", "unified21", "");
        var full = Train(config);
        Assert.True(full.Completed);
        Assert.Equal(2, full.EpochsDone);
        var work = full.WorkDir;
        foreach (var f in new[] { "config.yaml", "last.safetensors", "epoch_2.safetensors", "metrics.jsonl", "summary.json" })
            Assert.True(File.Exists(Path.Combine(work, f)), f);
        Assert.False(File.Exists(Path.Combine(work, "epoch_1.safetensors"))); // keep_last: 1
        var events = EventFileReader.FindEventFiles(Path.Combine(work, "tensorboard"));
        var scalars = EventFileReader.ReadScalars(Assert.Single(events));
        Assert.Contains(scalars, s => s.Tag == "train/loss_kpt");
        Assert.Contains(scalars, s => s.Tag == "val/coco/PCK@0.1");
        // No clip_grad in this config: the gradient norm is still measured and logged, positive and finite.
        Assert.Contains(scalars, s => s.Tag == "train/grad_norm" && s.Value > 0 && float.IsFinite(s.Value));
        Assert.Contains(full.LastMetrics.Keys, k => k == "mpii/PCKh");
        var records = MetricsLog.Read(Path.Combine(work, MetricsLog.FileName));
        Assert.Contains(records, r => r.Metrics.ContainsKey("val/coco/AP"));

        // A second run stopped after its first epoch, then resumed, ends with the same weights as the straight run.
        var config2 = WriteConfig("resumed", "unified21", "");
        var o = ExperimentConfig.Load(config2, ["train.max_epochs=2"], out var resolved);
        using (var cts = new CancellationTokenSource())
        {
            using var trainer = new Trainer(o, resolved, new TrainingRequest { ConfigPath = config2 }, NullLogger.Instance);
            cts.Cancel(); // stop after the first step
            var stopped = trainer.Run(cts.Token);
            Assert.False(stopped.Completed);
        }
        long checkpointed;
        using (var ck = CheckpointStore.Load(Path.Combine(_dir, "resumed", "last.safetensors"))) checkpointed = ck.State.Iteration;
        var resumed = Train(config2, resume: "");
        Assert.True(resumed.Completed);
        // The resumed run's event file starts with a START at the first step it logs, so TensorBoard drops what the
        // stopped run logged after its checkpoint instead of showing two curves over the same steps.
        var restarts = EventFileReader.FindEventFiles(Path.Combine(resumed.WorkDir, "tensorboard"))
            .SelectMany(EventFileAudit.Read).Where(e => e.SessionLog is not null).ToList();
        var restart = Assert.Single(restarts);
        Assert.Equal(1, restart.Index);
        Assert.Equal(1, restart.SessionLog!.Status);
        Assert.EndsWith("last.safetensors", restart.SessionLog.CheckpointPath);
        Assert.Equal(checkpointed + 1, restart.Step);
        Assert.Equal(full.Iterations, resumed.Iterations);
        using var a = CheckpointStore.Load(Path.Combine(work, "last.safetensors"));
        using var b = CheckpointStore.Load(Path.Combine(resumed.WorkDir, "last.safetensors"));
        foreach (var (key, t) in a.WithPrefix("student."))
            Assert.True(t.AllClose(b.WithPrefix("student.")[key], 1e-4, 1e-5), $"{key} differs after resume");
    }

    [Fact]
    public void SecondRunIntoTheSameDirectoryIsRefusedWhileTheFirstHoldsIt()
    {
        var config = WriteConfig("locked", "coco17", "");
        using var first = RunDirectory.Open(Path.Combine(_dir, "locked"));
        var ex = Assert.Throws<TrainingException>(() => Train(config));
        Assert.Contains("in use by another run", ex.Message);
    }

    [Fact]
    public void DistillationFromATeacherLogsItsKdTerm()
    {
        // Train a 17-keypoint teacher briefly, then distil it into a 21-keypoint student.
        var teacherConfig = WriteConfig("teacher", "coco17", "");
        var teacher = Train(teacherConfig);
        var studentConfig = WriteConfig("student", "unified21", $$$"""
            losses: {logit_kd: {weight: 1.0, mask_unknown: true}}
            teachers:
              - {name: t, config: {{{teacherConfig.Replace('\\', '/')}}}, checkpoint: {{{teacher.LastCheckpoint.Replace('\\', '/')}}}, weight: 0.5}
            """);
        var student = Train(studentConfig);
        Assert.True(student.Completed);
        var records = MetricsLog.Read(Path.Combine(student.WorkDir, MetricsLog.FileName));
        var kd = records.Where(r => r.Metrics.ContainsKey("train/loss_kd/t")).Select(r => r.Metrics["train/loss_kd/t"]).ToList();
        Assert.NotEmpty(kd);
        Assert.All(kd, v => Assert.True(double.IsFinite(v) && v >= 0));
        // The total is the sum of the terms, each counted once.
        foreach (var r in records.Where(r => r.Metrics.ContainsKey("train/loss")))
            Assert.Equal(r.Metrics["train/loss_kpt"] + r.Metrics["train/loss_kd/t"], r.Metrics["train/loss"], 6);

        // With feature KD the teacher runs after the student (its features are resampled onto the student's grid);
        // both of its terms are still logged and summed once.
        var featureConfig = WriteConfig("student-fea", "unified21", $$$"""
            losses: {logit_kd: {weight: 1.0, mask_unknown: true}, feature_kd: {weight: 0.001}}
            teachers:
              - {name: t, config: {{{teacherConfig.Replace('\\', '/')}}}, checkpoint: {{{teacher.LastCheckpoint.Replace('\\', '/')}}}, weight: 0.5, feature_weight: 1.0}
            """);
        var withFeatures = Train(featureConfig);
        Assert.True(withFeatures.Completed);
        var fr = MetricsLog.Read(Path.Combine(withFeatures.WorkDir, MetricsLog.FileName)).Where(r => r.Metrics.ContainsKey("train/loss")).ToList();
        Assert.NotEmpty(fr);
        foreach (var r in fr)
        {
            Assert.True(double.IsFinite(r.Metrics["train/loss_fea/t"]) && r.Metrics["train/loss_fea/t"] >= 0);
            Assert.Equal(r.Metrics["train/loss_kpt"] + r.Metrics["train/loss_kd/t"] + r.Metrics["train/loss_fea/t"], r.Metrics["train/loss"], 6);
        }
    }
}

[Collection(TrainerCollection.Name)]
public sealed class SelfDistillTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "distill-twostage-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    [Fact]
    public void SecondStageRetrainsOnlyTheHeadWithSelfDistillation()
    {
        Synth.Generate(new SynthOptions { OutDir = Path.Combine(_dir, "data"), Seed = 2, CocoImages = 12, Threads = 2 });
        var d = Path.Combine(_dir, "data").Replace('\\', '/');
        var config = Path.Combine(_dir, "two.yaml");
        File.WriteAllText(config, $$$"""
            name: two
            work_dir: {{{_dir}}}/two
            threads: 2
            model:
              keypoint_set: coco17
              input_size: [48, 64]
              backbone: {type: CSPNeXt, deepen_factor: 0.167, widen_factor: 0.125}
              head: {type: RTMCCHead, gau: {hidden_dims: 32, s: 16}}
              codec: {type: SimCCLabel, sigma: [1.5, 1.5], normalize: false}
            data:
              sources:
                - {name: coco, format: coco, ann_file: {{{d}}}/coco/annotations/person_keypoints_train.json, img_dir: {{{d}}}/coco/images/train,
                   val_ann_file: {{{d}}}/coco/annotations/person_keypoints_val.json, val_img_dir: {{{d}}}/coco/images/val}
              batch_size: 4
              num_workers: 1
            schedule: {type: cosine, warmup_iters: 1}
            ema: {enabled: false}
            train: {max_epochs: 1, val_interval: 1, log_interval: 1, self_distill: {enabled: true, epochs: 1, logit_weight: 1.0}}
            evaluation: {metrics: [coco, pck], best_metric: coco/AP}
            """);
        var o = ExperimentConfig.Load(config, [], out var resolved);
        TrainingResult r;
        using (var trainer = new Trainer(o, resolved, new TrainingRequest { ConfigPath = config }, NullLogger.Instance))
            r = trainer.Run(default);
        var stage1 = CheckpointStore.Load(Path.Combine(r.WorkDir, "last.safetensors"));
        var stage2 = CheckpointStore.Load(Path.Combine(r.WorkDir, "self_distill.safetensors"));
        using (stage1)
        using (stage2)
        {
            var a = stage1.WithPrefix("student.");
            var b = stage2.WithPrefix("student.");
            // The backbone is frozen (weights and BN statistics); the head moved.
            Assert.All(a.Where(kv => kv.Key.StartsWith("backbone.")), kv => Assert.True(kv.Value.AllClose(b[kv.Key], 0, 0), kv.Key));
            Assert.Contains(a.Where(kv => kv.Key.StartsWith("head.")), kv => !kv.Value.AllClose(b[kv.Key], 0, 0));
        }
        var records = MetricsLog.Read(Path.Combine(r.WorkDir, MetricsLog.FileName));
        Assert.Contains(records, x => x.Metrics.ContainsKey("self_distill/train/loss_kd/self"));
        Assert.Contains(records, x => x.Metrics.Keys.Any(k => k.StartsWith("self_distill/val/")));
    }
}
