using System.Diagnostics;
using Distill.Pose.Codecs;
using Distill.Pose.Data;
using Distill.Pose.Keypoints;
using Distill.Pose.Synthetic;
using Distill.Pose.Transforms;
using Distill.Torch;
using Distill.Training.Config;
using Distill.Training.Config.Schema;
using Distill.Training.Distillation;
using Distill.Training.Engine;

namespace Distill.Bench;

/// <summary>
/// Distill only: the kd suite's step fed by the trainer's own data path instead of a fixed batch. Synthetic COCO and
/// MPII sets (<see cref="Synth"/>) go through <see cref="TrainingData"/> (ratio sampler, augmentation with teacher
/// views, background loader) exactly as in training, so JPEG decoding and augmentation of the next batches overlap
/// the current step and compete with it for the cores.
/// </summary>
internal static class KdEndToEnd
{
    /// <param name="Batches">Timed batches (after one untimed warm-up batch).</param>
    /// <param name="Seconds">Wall time of the timed batches, data waits included.</param>
    /// <param name="DataWaitSeconds">Time the step spent waiting for the loader over the timed batches.</param>
    public sealed record Result(int Batches, int Images, int Workers, double Seconds, double DataWaitSeconds, double SynthSeconds);

    public static Result Run(string configPath, string dir, KeypointSet studentSet, IKeypointCodec codec, KdStep step,
        Distiller kd, int batch, int timedBatches, int threads)
    {
        // Synthetic scenes hold one or more people each: enough images for the batches with a margin.
        int images = Math.Max(8, batch * (timedBatches + 1) / 2);
        var synthClock = Stopwatch.StartNew();
        var root = Path.Combine(dir, "synthetic");
        Synth.Generate(new SynthOptions { OutDir = root, Seed = 1, CocoImages = images, MpiiImages = images, Threads = threads });
        double synthSeconds = synthClock.Elapsed.TotalSeconds;

        var o = ExperimentConfig.Load(configPath);
        o.Data.Sources =
        [
            new DataSourceOptions
            {
                Name = "coco", Format = DataFormat.Coco, ImgDir = Path.Combine(root, "coco", "images", "train"),
                AnnFile = Path.Combine(root, "coco", "annotations", "person_keypoints_train.json"),
            },
            new DataSourceOptions
            {
                Name = "mpii", Format = DataFormat.Mpii, ImgDir = Path.Combine(root, "mpii", "images"),
                AnnFile = Path.Combine(root, "mpii", "annotations", "mpii_train.json"),
            },
        ];
        o.Data.BatchSize = batch;
        // The typical run's worker count is sized for a many-core machine; more workers than cores only adds switching.
        o.Data.NumWorkers = Math.Clamp(o.Data.NumWorkers, 1, Environment.ProcessorCount);
        var sources = o.Data.Sources.Select(s => SourceData.Load(s, train: true, val: false)).ToList();
        using var data = new TrainingData(o, sources, studentSet, codec, kd.Teachers.Select(t => t.InputSize).ToList());
        if (data.BatchesPerEpoch < 2)
            throw new InvalidOperationException($"kd suite end-to-end line: the synthetic data gave {data.BatchesPerEpoch} batch(es) of {batch}, need at least 2");
        int wanted = Math.Min(timedBatches, data.BatchesPerEpoch - 1);

        int done = -1, imagesDone = 0;
        double wait = 0;
        long start = 0;
        foreach (var loaded in data.Epoch(0, 0, CancellationToken.None))
        {
            using var b = loaded.Value;
            if (done >= 0)
            {
                wait += loaded.DataWait.TotalSeconds;
                imagesDone += b.Count;
            }
            using (var scope = torch.NewDisposeScope())
            {
                var targets = b.Tensors.Where(kv => kv.Key != TopdownBatch.InputName).ToDictionary(kv => kv.Key, kv => kv.Value);
                var maps = Enumerable.Range(0, kd.Teachers.Count)
                    .Select(t => (IReadOnlyList<AffineMatrix>)b.Samples.Select(s => s.StudentToTeacher[t]).ToList()).ToList();
                step.Run(kd, b.Input, targets, new TeacherViews(b.TeacherInputs, maps, b.Samples.Select(s => s.Source).ToList()));
            }
            // The clock starts after the warm-up batch, so the loader's start-up is not counted.
            if (++done == 0) start = Stopwatch.GetTimestamp();
            if (done == wanted) break;
        }
        return new Result(done, imagesDone, o.Data.NumWorkers, Stopwatch.GetElapsedTime(start).TotalSeconds, wait, synthSeconds);
    }
}
