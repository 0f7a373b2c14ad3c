using System.Globalization;
using Distill.Pose.Datasets;
using Distill.Training.Checkpoints;
using Distill.Training.Engine;
using Distill.Training.Logging;

namespace Distill.Training.Tests.Engine;

/// <summary>
/// optimizer.accumulate_steps: k batches of size B, each loss divided by k, then one step. That is one batch of size
/// kB exactly when the loss is a mean over the batch and nothing else couples the samples of a batch, so the student
/// here is a ViT (LayerNorm only) with a heatmap head reduced to its final 1x1 convolution (no BatchNorm) and the
/// mean-squared heatmap loss.
/// </summary>
[Collection(TrainerCollection.Name)]
public sealed class GradientAccumulationTests
{
    private const string NormFreeStudent =
        "{keypoint_set: coco17, input_size: [48, 64], backbone: {type: VisionTransformer, arch: custom, embed_dims: 32, num_layers: 1, num_heads: 2, " +
        "feedforward_channels: 64, patch_size: 16, patch_padding: 2, drop_path_rate: 0.0}, " +
        "head: {type: HeatmapHead, deconv_out_channels: [], deconv_kernel_sizes: []}, codec: {type: MSRAHeatmap, heatmap_size: [3, 4], sigma: [1.0]}}";

    /// <summary>Two epochs of <paramref name="draws"/> training instances each (the COCO source's ratio set to draws / instances).</summary>
    private static string Config(TinyRun run, string name, int batchSize, int accumulate, int draws) => run.Config(name,
        "{max_epochs: 2, val_interval: 2, log_interval: 1}", "ema: {enabled: false}", model: NormFreeStudent,
        sources: [run.CocoSource[..^1] + $", ratio: {((double)draws / TrainingInstances(run)).ToString("R", CultureInfo.InvariantCulture)}}}"],
        optimizer: $"{{type: SGD, lr: 0.05, momentum: 0.9, weight_decay: 0.0, accumulate_steps: {accumulate}}}",
        schedule: "{type: constant, warmup_iters: 0}", batchSize: batchSize);

    private static int TrainingInstances(TinyRun run)
    {
        var d = Path.Combine(run.Dir, "data", "coco");
        return CocoKeypointDataset.Load(Path.Combine(d, "annotations", "person_keypoints_train.json"),
            new CocoLoadOptions { Mode = DatasetMode.Train, ImageRoot = Path.Combine(d, "images", "train") }).Count;
    }

    private static List<Dictionary<string, double>> Steps(TrainingResult r) => MetricsLog.Read(Path.Combine(r.WorkDir, MetricsLog.FileName))
        .Where(x => x.Metrics.ContainsKey("train/loss")).Select(x => x.Metrics.ToDictionary()).ToList();

    [Fact]
    public void TwoAccumulatedBatchesOfTwoTrainAsOneBatchOfFour()
    {
        using var run = new TinyRun(seed: 15, images: 4);
        // Eight draws an epoch: four batches of 2 (two accumulated steps) or two batches of 4.
        var accumulated = run.Train(Config(run, "acc2x2", batchSize: 2, accumulate: 2, draws: 8));
        var whole = run.Train(Config(run, "batch4", batchSize: 4, accumulate: 1, draws: 8));
        var unaccumulated = run.Train(Config(run, "batch2", batchSize: 2, accumulate: 1, draws: 8));
        Assert.True(accumulated.Completed && whole.Completed && unaccumulated.Completed);
        Assert.Equal(4, whole.Iterations);
        Assert.Equal(whole.Iterations, accumulated.Iterations);
        Assert.Equal(2 * whole.Iterations, unaccumulated.Iterations);

        // Each batch of 4 is the two batches of 2 that were accumulated into its step, and a step logs once: the mean
        // loss of its batches (the batch-of-4 loss) and the norm of the summed gradient (the batch-of-4 gradient's).
        var small = Steps(accumulated);
        var big = Steps(whole);
        Assert.Equal(big.Count, small.Count);
        for (int i = 0; i < big.Count; i++)
        {
            double mean = small[i]["train/loss"];
            Assert.True(Math.Abs(big[i]["train/loss"] - mean) <= 1e-5 * mean, $"step {i + 1}: loss {big[i]["train/loss"]}, mean of the two halves {mean}");
            double a = small[i]["train/grad_norm"], b = big[i]["train/grad_norm"];
            Assert.True(Math.Abs(a - b) <= 1e-4 * b, $"step {i + 1}: accumulated gradient norm {a}, batch-of-4 gradient norm {b}");
        }
        // Steps are numbered once each.
        var numbers = MetricsLog.Read(Path.Combine(accumulated.WorkDir, MetricsLog.FileName)).Where(x => x.Metrics.ContainsKey("train/loss")).Select(x => x.Step).ToList();
        Assert.Equal(numbers.Distinct().Count(), numbers.Count);

        using var ca = CheckpointStore.Load(accumulated.LastCheckpoint);
        using var cb = CheckpointStore.Load(whole.LastCheckpoint);
        using var cc = CheckpointStore.Load(unaccumulated.LastCheckpoint);
        var (wa, wb, wc) = (ca.WithPrefix("student."), cb.WithPrefix("student."), cc.WithPrefix("student."));
        Assert.NotEmpty(wb);
        foreach (var (key, t) in wb)
            Assert.True(wa[key].AllClose(t, 1e-4, 1e-6), $"{key}: accumulated run ends with other weights than the batch-of-4 run");
        // The comparison can tell runs apart: twice the steps on batches of 2 end elsewhere.
        Assert.Contains(wb, kv => !wc[kv.Key].AllClose(kv.Value, 1e-4, 1e-6));
    }

    private static void AssertSameStudent(TrainingResult expected, TrainingResult actual)
    {
        using var a = CheckpointStore.Load(expected.LastCheckpoint);
        using var b = CheckpointStore.Load(actual.LastCheckpoint);
        var wb = b.WithPrefix("student.");
        foreach (var (key, t) in a.WithPrefix("student."))
            Assert.True(wb[key].AllClose(t, 1e-4, 1e-6), $"{key} differs");
    }

    /// <summary>
    /// Six draws per epoch make three batches of 2: with accumulate_steps 2 the third batch's gradient is still pending
    /// when the epoch ends. It is dropped there, so a run stopped at the epoch end and resumed (from zero gradients) goes
    /// on exactly as the straight run.
    /// </summary>
    [Fact]
    public void ResumingAtAnEpochEndWithAPendingGradientReproducesTheStraightRun()
    {
        using var run = new TinyRun(seed: 15, images: 4);
        var straight = run.Train(Config(run, "straight", batchSize: 2, accumulate: 2, draws: 6));
        var config = Config(run, "resumed", batchSize: 2, accumulate: 2, draws: 6);
        // The learning rate is constant, so a first run told to stop after one epoch trains that epoch as the straight run does.
        Assert.True(run.Train(config, set: ["train.max_epochs=1", "train.val_interval=1"]).Completed);
        var resumed = run.Train(config, resume: "");
        Assert.Equal(straight.Iterations, resumed.Iterations);
        AssertSameStudent(straight, resumed);
    }

    /// <summary>A stop requested after the first of two accumulated batches is honoured after the second, at the optimizer step.</summary>
    [Fact]
    public void ResumingAfterAStopInsideAnAccumulatedStepReproducesTheStraightRun()
    {
        using var run = new TinyRun(seed: 15, images: 4);
        var straight = run.Train(Config(run, "straight", batchSize: 2, accumulate: 2, draws: 8));
        var config = Config(run, "resumed", batchSize: 2, accumulate: 2, draws: 8);
        using (var cts = new CancellationTokenSource())
        using (var trainer = run.Trainer(config))
        {
            cts.Cancel(); // stop after the first batch
            Assert.False(trainer.Run(cts.Token).Completed);
        }
        var resumed = run.Train(config, resume: "");
        Assert.Equal(straight.Iterations, resumed.Iterations);
        AssertSameStudent(straight, resumed);
    }
}
