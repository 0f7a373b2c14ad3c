using Distill.Config;
using Distill.Pose.Models.Checkpoints;
using Distill.Training.Checkpoints;
using Distill.Training.Engine;
using Distill.Training.Logging;

namespace Distill.Training.Tests.Engine;

/// <summary>
/// Bottom-up (CIF/CAF) students through the shared training loop, on synthetic multi-person scenes: the six field
/// terms are logged under their names and fall, validation reports COCO AP of decoded poses, checkpoints and the EMA
/// are written, a stopped run resumes to the uninterrupted run's weights, and bottom-up keys are checked.
/// </summary>
[Collection(TrainerCollection.Name)]
public sealed class BottomupTrainingTests : IDisposable
{
    /// <summary>CSPNeXt stage 2 (stride 8) at a 65 px square edge: 9 x 9 fields.</summary>
    public const string Student =
        "{type: BottomupPoseEstimator, keypoint_set: coco17, input_size: [65, 65], " +
        "backbone: {type: CSPNeXt, deepen_factor: 0.167, widen_factor: 0.125, out_indices: [2]}, head: {type: CifCafHead}}";

    // OpenPifPaf's optimiser: SGD with Nesterov momentum, geometric warm-up, decay spread over an epoch, clipping by value.
    private const string Sgd = "{type: SGD, lr: 0.01, momentum: 0.9, nesterov: true, weight_decay: 0.0, clip_grad_value: 10}";

    private static readonly string[] FieldTerms = ["cif.c", "cif.vec", "cif.scales", "caf.c", "caf.vec", "caf.scales"];

    private readonly TinyRun _run = new(seed: 11, images: 16);

    public void Dispose() => _run.Dispose();

    private string Config(string name, string train, string extra = "", string? optimizer = null, string? schedule = null, string? workDir = null) =>
        _run.Config(name, train, extra, workDir: workDir, model: Student, optimizer: optimizer ?? Sgd, schedule: schedule ?? "{type: constant, warmup_iters: 0}",
            evaluation: "{metrics: [coco], best_metric: coco/AP}");

    private sealed class Recorder : ITrainingProgress
    {
        public List<StepProgress> Steps { get; } = [];
        public bool ShowsSteps => true;
        public void Report(StepProgress progress) => Steps.Add(progress);
    }

    [Fact]
    public void FieldTermsAreLoggedByNameAndTheLossFalls()
    {
        // The same images every epoch in a new order and augmentation: the mean loss of the last two epochs against the first.
        var config = Config("falls", "{max_epochs: 6, val_interval: 6, log_interval: 1}",
            optimizer: "{type: AdamW, lr: 3.0e-3, weight_decay: 0.0}", schedule: "{type: constant, warmup_iters: 0}");
        var sink = new Recorder();
        TrainingResult result;
        using (var trainer = _run.Trainer(config, set: ["data.square_edge=65"], progress: sink))
            result = trainer.Run(CancellationToken.None);
        Assert.True(result.Completed);
        Assert.All(sink.Steps, s =>
        {
            foreach (var term in FieldTerms) Assert.True(double.IsFinite(s.Values[term]), term);
            Assert.Equal(FieldTerms.Sum(t => s.Values[t]), s.Values["loss"], 9);
        });
        double Mean(int epoch, string term) => sink.Steps.Where(s => s.Epoch == epoch).Average(s => s.Values[term]);
        string Trace() => string.Join("; ", FieldTerms.Append("loss").Select(t => $"{t}: " + string.Join(" ", Enumerable.Range(1, 6).Select(e => Mean(e, t).ToString("F1")))));
        // Single terms trade against each other through the learned spreads (and may go up); their sum falls.
        Assert.True((Mean(5, "loss") + Mean(6, "loss")) / 2 < 0.8 * Mean(1, "loss"), Trace());

        // TensorBoard and the metrics log carry each term under its own name.
        var tags = EventFileReader.ReadScalars(Directory.GetFiles(result.WorkDir, "events.out.tfevents.*", SearchOption.AllDirectories).Single())
            .Select(p => p.Tag).ToHashSet();
        foreach (var term in FieldTerms) Assert.Contains("train/" + term, tags);
        Assert.Contains("val/coco/AP", tags);
    }

    [Fact]
    public void RunValidatesCocoApAndWritesCheckpointsWithTheEma()
    {
        var config = Config("ckpt", "{max_epochs: 2, val_interval: 1}",
            "ema: {enabled: true}\ncheckpoint: {interval: 1, keep_last: 2}",
            schedule: "{type: multistep, milestones: [1], warmup: geometric, warmup_iters: 3, warmup_ratio: 0.001, decay_spread_epochs: 1}");
        var result = _run.Train(config);
        Assert.True(result.Completed);
        Assert.Equal(2, result.EpochsDone);
        foreach (var m in new[] { "coco/AP", "coco/AP50", "coco/AP75", "coco/AR" }) Assert.InRange(result.LastMetrics[m], 0.0, 1.0);
        Assert.NotNull(result.BestCheckpoint);
        foreach (var file in new[] { RunCheckpoints.LastFile, RunCheckpoints.BestFile, "epoch_1.safetensors", "epoch_2.safetensors" })
            Assert.True(File.Exists(Path.Combine(result.WorkDir, file)), file);
        using var ckpt = CheckpointStore.Load(result.LastCheckpoint);
        Assert.Equal("coco17", ckpt.Metadata["keypoint_set"]);
        // The EMA trails the student: after a few steps the two differ.
        var student = ckpt.WithPrefix(WeightsLoader.StudentPrefix)["head.cif.conv.weight"];
        var ema = ckpt.WithPrefix(WeightsLoader.EmaPrefix + WeightsLoader.StudentPrefix)["head.cif.conv.weight"];
        Assert.False(student.AllClose(ema, 0, 0));
    }

    [Fact]
    public void StoppedRunResumesToTheUninterruptedWeights()
    {
        const string train = "{max_epochs: 2, val_interval: 2}";
        var straight = _run.Train(Config("straight", train, "ema: {enabled: true}"));
        var config = Config("stopped", train, "ema: {enabled: true}");
        using (var cts = new CancellationTokenSource())
        using (var trainer = _run.Trainer(config))
        {
            // Inside the first epoch: the resume continues mid-epoch, with the loader skipping the batches done.
            trainer.AfterStep = (_, epoch, batch) =>
            {
                if (epoch == 0 && batch == 2) cts.Cancel();
            };
            Assert.False(trainer.Run(cts.Token).Completed);
        }
        var resumed = _run.Train(config, resume: "");
        Assert.True(resumed.Completed);
        Assert.Equal(straight.Iterations, resumed.Iterations);
        using var a = CheckpointStore.Load(straight.LastCheckpoint);
        using var b = CheckpointStore.Load(resumed.LastCheckpoint);
        foreach (var prefix in new[] { WeightsLoader.StudentPrefix, WeightsLoader.EmaPrefix + WeightsLoader.StudentPrefix })
        {
            var (sa, sb) = (a.WithPrefix(prefix), b.WithPrefix(prefix));
            Assert.NotEmpty(sa);
            Assert.Equal(sa.Keys.Order(), sb.Keys.Order());
            foreach (var (key, t) in sa) Assert.True(t.AllClose(sb[key], 1e-5, 1e-7), $"{prefix}{key} differs after resuming");
        }
        Assert.Equal(straight.LastMetrics["coco/AP"], resumed.LastMetrics["coco/AP"]);
    }

    [Fact]
    public void HflipAndAugmentationKeysShapeEveryTrainingImage()
    {
        var config = Config("flip", "{max_epochs: 1, val_interval: 1}");
        foreach (var (set, want) in new (string?, double)[] { (null, 0.5), ("data.hflip=0", 0.0), ("data.hflip=1", 1.0) })
        {
            var o = Distill.Training.Config.ExperimentConfig.Load(config, set is null ? [] : [set]);
            var (model, kps) = Distill.Pose.Models.ModelFactory.BuildBottomup(o.Model);
            using (model)
            using (var data = BottomupTrainingData.Create(o, model, kps, Distill.Training.Distributed.DistributedContext.Single,
                Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance))
            {
                Assert.Equal(want, data.Augmentation.HFlipProb);
                if (want is 0.0 or 1.0)
                {
                    // A flip is the only way the image-to-input map gets a negative determinant.
                    using var batch = data.Epoch(0, 0, CancellationToken.None).First().Value;
                    foreach (var m in batch.ImageToInput)
                        Assert.Equal(want == 1.0, m.M00 * m.M11 - m.M01 * m.M10 < 0);
                }
            }
        }
        // augmentation: false trains on exactly the evaluation geometry (long side to the square edge, at the top-left).
        {
            var o = Distill.Training.Config.ExperimentConfig.Load(config, ["data.augmentation=false"]);
            var (model, kps) = Distill.Pose.Models.ModelFactory.BuildBottomup(o.Model);
            using (model)
            using (var data = BottomupTrainingData.Create(o, model, kps, Distill.Training.Distributed.DistributedContext.Single,
                Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance))
            {
                Assert.False(data.Augmentation.Enabled);
                using var batch = data.Epoch(0, 0, CancellationToken.None).First().Value;
                Assert.All(batch.ImageToInput, m => { Assert.Equal(0, m.M01); Assert.Equal(0, m.M10); Assert.Equal(m.M00, m.M11); Assert.Equal(0, m.M02); Assert.Equal(0, m.M12); });
            }
        }
        foreach (var key in new[] { "data.hflip=0", "data.augmentation=false" })
        {
            var topdown = _run.Config("td-" + key[5..9], "{max_epochs: 1, val_interval: 1}");
            var e = Assert.Throws<ConfigException>(() => _run.Trainer(topdown, set: [key]).Dispose());
            Assert.Contains(key[..key.IndexOf('=')], e.Message);
        }
    }

    [Fact]
    public void BottomupKeysAndRefusalsNameTheirKey()
    {
        // A top-down student does not read OpenPifPaf's data keys.
        var topdown = _run.Config("td", "{max_epochs: 1, val_interval: 1}");
        var e1 = Assert.Throws<ConfigException>(() => _run.Trainer(topdown, set: ["data.orientation_invariant=0.1"]).Dispose());
        Assert.Contains("data.orientation_invariant", e1.Message);
        Assert.Contains("bottom-up", e1.Message);

        var edge = Config("edge", "{max_epochs: 1, val_interval: 1}");
        var e2 = Assert.Throws<ConfigException>(() => _run.Trainer(edge, set: ["data.square_edge=1"]).Dispose());
        Assert.Contains("data.square_edge", e2.Message);

        // A bottom-up student learns from bottom-up teachers only.
        var teacher = _run.Teacher("t", TinyRun.Student, 5);
        var kd = Config("kd", "{max_epochs: 1, val_interval: 1}", $"teachers:\n  - {teacher}");
        var e3 = Assert.Throws<InvalidDataException>(() => _run.Trainer(kd).Dispose());
        Assert.StartsWith("teachers.t:", e3.Message);
        Assert.Contains("model.type", e3.Message);

        var mpii = new TinyRun(seed: 2, images: 0, mpiiImages: 4);
        try
        {
            var wrong = mpii.Config("mpii", "{max_epochs: 1, val_interval: 1}", model: Student, sources: [mpii.MpiiSource], evaluation: "{metrics: [pckh], best_metric: mpii/PCKh}");
            var e4 = Assert.Throws<TrainingException>(() => mpii.Trainer(wrong).Dispose());
            Assert.StartsWith("data.sources.0.format:", e4.Message);
        }
        finally
        {
            mpii.Dispose();
        }
    }
}
