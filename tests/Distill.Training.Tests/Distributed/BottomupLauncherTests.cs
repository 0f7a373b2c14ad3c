using System.Text.Json;
using Distill.Pose.Synthetic;

namespace Distill.Training.Tests.Distributed;

/// <summary>
/// Data-parallel training of a bottom-up (CIF/CAF) student: <c>distill train --nproc-per-node 2</c> against one
/// process of twice the batch, on synthetic multi-person scenes.
/// </summary>
[Collection(DataParallelCollection.Name)]
public sealed class BottomupLauncherTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(120);

    // 20 standard scenes: 18 for training, 2 for validation.
    private readonly DataParallelRun _run = new(images: 20, scene: SynthScene.Standard);

    private static readonly string[] FieldTerms = ["cif.c", "cif.vec", "cif.scales", "caf.c", "caf.vec", "caf.scales"];

    /// <summary>
    /// A narrow CSPNeXt (stride 8) with the CIF/CAF head at a 65 px square edge (9 x 9 fields), plain SGD, no EMA.
    /// The untrained fields have gradient norms of several hundred, at which the rounding of two summation orders
    /// (one batch of 4 against two of 2 and an all-reduce) grows step by step: at lr 1e-3 the weights of the two runs
    /// part by 1e-3 after 8 steps. At 1e-5 they agree within 3e-7 while still moving by about 1e-2 per epoch, so a
    /// gradient off by a factor of 2 would miss the tolerance by three orders of magnitude.
    /// </summary>
    private string Config(string name, int batch)
    {
        var d = Path.Combine(_run.Dir, "data").Replace('\\', '/');
        var yaml = $$$"""
            name: {{{name}}}
            work_dir: {{{_run.RunDir(name)}}}
            seed: 3
            model:
              type: BottomupPoseEstimator
              keypoint_set: coco17
              input_size: [65, 65]
              backbone: {type: CSPNeXt, deepen_factor: 0.167, widen_factor: 0.125, out_indices: [2]}
              head: {type: CifCafHead}
              sync_bn: true
            data:
              sources:
                - {name: coco, format: coco, ann_file: {{{d}}}/coco/annotations/person_keypoints_train.json, img_dir: {{{d}}}/coco/images/train,
                   val_ann_file: {{{d}}}/coco/annotations/person_keypoints_val.json, val_img_dir: {{{d}}}/coco/images/val}
              batch_size: {{{batch}}}
              val_batch_size: 2
              num_workers: 1
              square_edge: 65
            optimizer: {type: SGD, lr: 1.0e-5, momentum: 0.9, weight_decay: 0.0}
            schedule: {type: constant, warmup_iters: 0}
            ema: {enabled: false}
            train: {max_epochs: 2, val_interval: 2, log_interval: 1}
            checkpoint: {interval: 1, save_best: false}
            logging: {tensorboard: true}
            evaluation: {metrics: [coco], best_metric: coco/AP}
            """;
        var path = Path.Combine(_run.Dir, name + ".yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    private static List<JsonElement> Steps(string runDir) =>
        File.ReadAllLines(Path.Combine(runDir, "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.TryGetProperty("train/loss", out _)).ToList();

    private static string[] Files(string dir) =>
        Directory.GetFiles(dir, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(dir, f))
            .Select(f => f.StartsWith("tensorboard", StringComparison.Ordinal) ? "tensorboard/*" : f).Order().ToArray();

    [Fact]
    public void Two_workers_train_a_bottom_up_student_like_one_process_with_twice_the_batch()
    {
        // Each CIF/CAF term is a sum over the batch's cells divided by the batch size, a mean over images, and the
        // workers average their gradients: two workers of batch 2 give the mean over the same 4 images as one process
        // of batch 4, so no learning-rate scaling is needed (unlike the summed RTMPose loss). The epoch's order is cut
        // into interleaved shards, so worker batches k together hold the single run's batch k (18 images: 4 batches
        // of 4 against 2 x 4 batches of 2, none padded), and each image's augmentation is drawn from (seed, epoch,
        // image index) alone, the same whichever process loads it. With model.sync_bn the BatchNorm statistics span
        // both workers' images.
        var single = Config("single", batch: 4);
        var dist = Config("dist", batch: 2);
        var (c1, o1) = DataParallelRun.Run(Limit, "train", single);
        Assert.True(c1 == 0, o1);
        var (c2, o2) = DataParallelRun.Run(Limit, "train", dist, "--nproc-per-node", "2", "--master-port", DataParallelRun.FreePort().ToString());
        Assert.True(c2 == 0, o2);
        Assert.Contains("18 training images", o1);
        Assert.Contains("2 workers x batch 2 = global batch 4", o2);
        Assert.Contains("BatchNorm layers take their statistics over all 2 workers", o2);
        Assert.DoesNotContain("learning rate scaled", o2);

        var diff = DataParallelRun.MaxDifference(DataParallelRun.Student(Path.Combine(_run.RunDir("single"), "last.safetensors")),
            DataParallelRun.Student(Path.Combine(_run.RunDir("dist"), "last.safetensors")));
        Assert.True(diff < 1e-5, $"max weight difference {diff}");
        // The second epoch alone moves the weights far beyond that tolerance.
        var moved = DataParallelRun.MaxDifference(DataParallelRun.Student(Path.Combine(_run.RunDir("single"), "epoch_1.safetensors")),
            DataParallelRun.Student(Path.Combine(_run.RunDir("single"), "last.safetensors")));
        Assert.True(moved > 1e-3, $"the second epoch changed the weights by {moved} at most");

        // Logged step values are means over the workers of per-worker means: the single run's values, term by term.
        var m1 = Steps(_run.RunDir("single"));
        var m2 = Steps(_run.RunDir("dist"));
        Assert.Equal(8, m1.Count);
        Assert.Equal(8, m2.Count);
        for (int i = 0; i < m1.Count; i++)
        {
            Assert.Equal(m1[i].GetProperty("step").GetInt64(), m2[i].GetProperty("step").GetInt64());
            foreach (var term in FieldTerms.Append("loss"))
            {
                double a = m1[i].GetProperty("train/" + term).GetDouble(), b = m2[i].GetProperty("train/" + term).GetDouble();
                Assert.True(Math.Abs(a - b) <= 1e-5 * Math.Max(1, Math.Abs(a)), $"step {i + 1} {term}: {a} alone, {b} over 2 workers");
            }
            Assert.Equal(m1[i].GetProperty("train/lr").GetDouble(), m2[i].GetProperty("train/lr").GetDouble(), 12);
        }

        // Rank 0 alone writes: the same files as the single run, one event file.
        Assert.Equal(Files(_run.RunDir("single")), Files(_run.RunDir("dist")));
        Assert.Single(Directory.GetFiles(Path.Combine(_run.RunDir("dist"), "tensorboard")));
        Assert.Equal(File.ReadAllLines(Path.Combine(_run.RunDir("single"), "metrics.jsonl")).Length,
            File.ReadAllLines(Path.Combine(_run.RunDir("dist"), "metrics.jsonl")).Length);
    }

    public void Dispose() => _run.Dispose();
}
