using Distill.Pose.Models;
using Distill.Pose.Models.Checkpoints;
using Distill.Torch;
using Distill.Torch.Serialization;
using Distill.Training.Checkpoints;
using Distill.Training.Engine;

namespace Distill.Training.Tests.Engine;

/// <summary>
/// Bottom-up students trained with bottom-up teachers through the shared loop: a teacher that is the student itself
/// adds terms of exactly 0 and leaves the ground-truth terms as they are; another teacher's field and feature terms are
/// logged, summed into the loss, and their adapters train, are checkpointed and come back on resume.
/// </summary>
[Collection(TrainerCollection.Name)]
public sealed class BottomupDistillationRunTests : IDisposable
{
    private const string Sgd = "{type: SGD, lr: 0.01, momentum: 0.9, nesterov: true, weight_decay: 0.0, clip_grad_value: 10}";

    /// <summary>A larger CSPNeXt (twice as wide) at the student's stride 8.</summary>
    private const string Bigger =
        "{type: BottomupPoseEstimator, keypoint_set: coco17, input_size: [65, 65], " +
        "backbone: {type: CSPNeXt, deepen_factor: 0.167, widen_factor: 0.25, out_indices: [2]}, head: {type: CifCafHead}}";

    /// <summary>
    /// A one-layer ViT at stride 8 (patch 8, padding 4: 9 x 9 fields at 65 px, as the CSPNeXt student's) without drop
    /// path: LayerNorm normalises each token alike in training and eval mode, so a teacher copy computes the very
    /// fields the training student does (BatchNorm would use batch statistics in the student, running ones in the teacher).
    /// </summary>
    private const string Vit =
        "{type: BottomupPoseEstimator, keypoint_set: coco17, input_size: [65, 65], backbone: {type: VisionTransformer, arch: custom, " +
        "embed_dims: 32, num_layers: 1, num_heads: 2, feedforward_channels: 64, patch_size: 8, patch_padding: 4, drop_path_rate: 0.0}, " +
        "head: {type: CifCafHead}}";

    private static readonly string[] FieldTerms = ["cif.c", "cif.vec", "cif.scales", "caf.c", "caf.vec", "caf.scales"];

    private readonly TinyRun _run = new(seed: 13, images: 16);

    public void Dispose() => _run.Dispose();

    private string Config(string name, string extra, string model = BottomupTrainingTests.Student, string train = "{max_epochs: 1, val_interval: 1, log_interval: 1}",
        int batchSize = 4) =>
        _run.Config(name, train, extra, model: model, optimizer: Sgd, schedule: "{type: constant, warmup_iters: 0}",
            evaluation: "{metrics: [coco], best_metric: coco/AP}", batchSize: batchSize);

    /// <summary>Writes NAME.model.yaml and NAME.safetensors (the network built from <paramref name="seed"/>); returns both paths.</summary>
    private (string Config, string Weights) BottomupWeights(string name, string model, ulong seed)
    {
        var config = Path.Combine(_run.Dir, name + ".model.yaml").Replace('\\', '/');
        File.WriteAllText(config, $"model: {model}\n");
        var weights = Path.Combine(_run.Dir, name + ".safetensors").Replace('\\', '/');
        torch.ManualSeed(seed);
        var (net, _) = ModelFactory.BuildBottomup(ModelConfig.Load(config));
        using (net) SafeTensors.Save(weights, net.StateDict());
        return (config, weights);
    }

    private sealed class Recorder : ITrainingProgress
    {
        public List<StepProgress> Steps { get; } = [];
        public bool ShowsSteps => true;
        public void Report(StepProgress progress) => Steps.Add(progress);
    }

    /// <summary>Trains <paramref name="config"/> for its first step only and returns the logged values of that step.</summary>
    private IReadOnlyDictionary<string, double> FirstStep(string config)
    {
        var sink = new Recorder();
        using var cts = new CancellationTokenSource();
        using (var trainer = _run.Trainer(config, progress: sink))
        {
            trainer.AfterStep = (_, _, batch) =>
            {
                if (batch == 1) cts.Cancel();
            };
            trainer.Run(cts.Token);
        }
        return sink.Steps[0].Values;
    }

    [Fact]
    public void TheStudentAsItsOwnTeacherAddsZeroAndLeavesTheGroundTruthTermsAlone()
    {
        // The student starts from a saved network and the teacher is that same network, so at the first step its fields
        // are the student's: every distillation term is 0, and so is its gradient (the same step, the same norm).
        var (model, weights) = BottomupWeights("self", Vit, 21);
        var student = Vit[..^1] + $", init_checkpoint: {weights}}}";
        var plain = FirstStep(Config("plain", "", model: student));
        var kd = FirstStep(Config("selfkd",
            $"teachers:\n  - {{name: self, config: {model}, checkpoint: {weights}, fold_bn: false, channels_last: false}}", model: student));

        var kdTerms = FieldTerms.Select(t => $"loss_kd/self/{t}").ToArray();
        foreach (var t in kdTerms) Assert.Equal(0.0, kd[t]);
        foreach (var t in FieldTerms) Assert.Equal(plain[t], kd[t]);
        Assert.Equal(plain["loss"], kd["loss"]);
        Assert.Equal(plain["grad_norm"], kd["grad_norm"]);
        Assert.Equal(FieldTerms.Concat(kdTerms).Append("loss").Append("grad_norm").Order(StringComparer.Ordinal), kd.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void ALargerTeachersTermsJoinTheLossAndItsAdapterTrainsCheckpointsAndResumes()
    {
        var (model, weights) = BottomupWeights("big", Bigger, 5);
        var kd = "losses: {feature_kd: {weight: 0.01}}\nema: {enabled: true}\n" +
            $"teachers:\n  - {{name: big, config: {model}, checkpoint: {weights}, feature_weight: 1}}";
        // A few batches of 4: the stopped run ends after the first and resumes for the rest.
        const string train = "{max_epochs: 1, val_interval: 1, log_interval: 1}";
        var straightConfig = Config("straight", kd, train: train, batchSize: 4);
        var sink = new Recorder();
        float[] initial;
        TrainingResult straight;
        using (var trainer = _run.Trainer(straightConfig, progress: sink))
        {
            initial = Adapter(trainer);
            straight = trainer.Run(CancellationToken.None);
        }
        Assert.True(straight.Completed);
        Assert.InRange(sink.Steps.Count, 2, 4);
        var names = FieldTerms.Select(t => $"loss_kd/big/{t}").Append("loss_fea/big").ToArray();
        foreach (var step in sink.Steps)
        {
            foreach (var n in names) Assert.True(double.IsFinite(step.Values[n]) && step.Values[n] > 0, $"{n} = {step.Values[n]}");
            Assert.Equal(FieldTerms.Concat(names).Sum(t => step.Values[t]), step.Values["loss"], 9);
        }

        // The adapter trained with the student and is in the checkpoint under kd.big.
        using (var ckpt = CheckpointStore.Load(straight.LastCheckpoint))
        {
            var saved = ckpt.WithPrefix("kd.big.");
            Assert.Equal(["align.bias", "align.weight"], saved.Keys.Order(StringComparer.Ordinal));
            var trained = saved["align.weight"].Flatten().ToArray<float>();
            Assert.Equal(initial.Length, trained.Length);
            Assert.NotEqual(initial, trained);
        }

        // Stopped after the first batch and resumed: the adapter comes back and the run ends where the straight one did.
        var config = Config("stopped", kd, train: train, batchSize: 4);
        using (var cts = new CancellationTokenSource())
        using (var trainer = _run.Trainer(config))
        {
            trainer.AfterStep = (_, _, batch) =>
            {
                if (batch == 1) cts.Cancel();
            };
            Assert.False(trainer.Run(cts.Token).Completed);
        }
        var resumed = _run.Train(config, resume: "");
        Assert.True(resumed.Completed);
        Assert.Equal(straight.Iterations, resumed.Iterations);
        using var a = CheckpointStore.Load(straight.LastCheckpoint);
        using var b = CheckpointStore.Load(resumed.LastCheckpoint);
        foreach (var prefix in new[] { WeightsLoader.StudentPrefix, "kd.big." })
        {
            var (sa, sb) = (a.WithPrefix(prefix), b.WithPrefix(prefix));
            Assert.NotEmpty(sa);
            foreach (var (key, t) in sa) Assert.True(t.AllClose(sb[key], 1e-5, 1e-7), $"{prefix}{key} differs after resuming");
        }
    }

    /// <summary>The feature adapter's 1x1 weights as the trainer built them.</summary>
    private static float[] Adapter(Trainer trainer)
    {
        var (_, adapter) = trainer.Networks.Single(n => n.Role == "kd.big");
        return adapter.StateDict().Single(kv => kv.Key == "align.weight").Value.Flatten().ToArray<float>();
    }
}
