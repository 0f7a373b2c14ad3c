using Distill.Pose.Models.Checkpoints;
using Distill.Torch.Vision;
using Distill.Training.Checkpoints;
using Distill.Training.Config;
using Distill.Training.Logging;
using Distill.Training.Models;
using Distill.Training.Tests.Logging;
using Distill.Pose.Models;

namespace Distill.Training.Tests.Engine;

/// <summary>logging.histograms in a real run, checked against the checkpointed weights and an independent reading of the event file.</summary>
[Collection(TrainerCollection.Name)]
public sealed class HistogramLoggingTests : IDisposable
{
    private readonly TinyRun _run = new(seed: 3);

    public void Dispose() => _run.Dispose();

    [Fact]
    public void WeightHistogramsEqualTheCheckpointedParametersAndGradientsCoverEveryParameter()
    {
        // Two epochs, histograms after each (histogram_interval 1) though validation only runs after the second.
        var config = _run.Config("hist", "{max_epochs: 2, val_interval: 2, log_interval: 1}",
            "logging: {histograms: true, histogram_interval: 1, log_images: true}\ncheckpoint: {interval: 1, keep_last: 2}");
        var result = _run.Train(config);
        Assert.True(result.Completed);

        // The student's parameter names and sizes from a model built here from the same config.
        var o = ExperimentConfig.Load(config);
        var (model, _) = ModelFactory.Build(o.Model, o.Losses.Gt);
        Dictionary<string, long> sizes;
        using (model) sizes = model.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.NumEl);

        var file = Assert.Single(EventFileReader.FindEventFiles(Path.Combine(result.WorkDir, "tensorboard")));
        var events = EventFileAudit.Read(file); // every record's framing and CRCs, the version record, the message layout
        var values = events.SelectMany(e => e.Values.Select(v => (e.Step, Value: v))).ToList();
        var weights = values.Where(v => v.Value.Tag.StartsWith("weights/")).ToList();
        var grads = values.Where(v => v.Value.Tag.StartsWith("grads/")).ToList();

        var steps = weights.Select(w => w.Step).Distinct().Order().ToList();
        Assert.Equal(2, steps.Count);
        for (int epoch = 1; epoch <= 2; epoch++)
        {
            long step = steps[epoch - 1];
            using var ckpt = CheckpointStore.Load(Path.Combine(result.WorkDir, $"epoch_{epoch}.safetensors"));
            Assert.Equal(ckpt.State.Iteration, step); // logged at the epoch's end, beside its checkpoint
            var student = ckpt.WithPrefix(WeightsLoader.StudentPrefix);

            var logged = weights.Where(w => w.Step == step).ToDictionary(w => w.Value.Tag["weights/".Length..], w => w.Value.Histogram!);
            Assert.Equal(sizes.Keys.Order(), logged.Keys.Order());
            foreach (var (name, h) in logged)
            {
                EventFileAudit.AssertWellFormed(h, "weights/" + name);
                AssertSummarises(student[name].ToArray<float>(), h, $"weights/{name} at epoch {epoch}");
            }

            // Gradients of the epoch's last step, logged under the same step; each has its parameter's size.
            var gradAt = grads.Where(g => g.Step == step).ToDictionary(g => g.Value.Tag["grads/".Length..], g => g.Value.Histogram!);
            Assert.Equal(sizes.Keys.Order(), gradAt.Keys.Order());
            foreach (var (name, h) in gradAt)
            {
                EventFileAudit.AssertWellFormed(h, "grads/" + name);
                Assert.Equal(sizes[name], (long)h.Num);
            }
        }
        Assert.All(grads, g => Assert.Contains(g.Step, steps));

        // Scalars and the validation contact sheet went through the same audited file.
        Assert.Contains(values, v => v.Value.Tag == "train/loss" && v.Value.Scalar is not null);
        var sheet = Assert.Single(values, v => v.Value.Tag == "val/coco").Value.Image!;
        var decoded = Image.Decode(sheet.Encoded);
        Assert.Equal((sheet.Height, sheet.Width), (decoded.Height, decoded.Width));
    }

    [Fact]
    public void WithHistogramsOffNoneAreWritten()
    {
        var config = _run.Config("nohist", "{max_epochs: 1, val_interval: 1, log_interval: 1}");
        var result = _run.Train(config);

        var events = EventFileAudit.Read(Assert.Single(EventFileReader.FindEventFiles(Path.Combine(result.WorkDir, "tensorboard"))));
        var values = events.SelectMany(e => e.Values).ToList();
        Assert.Contains(values, v => v.Tag == "train/loss");
        Assert.DoesNotContain(values, v => v.Histogram is not null);
    }

    /// <summary>The histogram's statistics and every bucket's count, recomputed from the values.</summary>
    private static void AssertSummarises(float[] values, EventFileAudit.AuditedHistogram h, string what)
    {
        Assert.Equal(values.Length, h.Num);
        Assert.Equal(values.Min(), h.Min);
        Assert.Equal(values.Max(), h.Max);
        double sum = 0, squares = 0;
        foreach (double v in values)
        {
            sum += v;
            squares += v * v;
        }
        Assert.Equal(sum, h.Sum, 1e-9 * Math.Max(1, Math.Abs(sum)));
        Assert.Equal(squares, h.SumSquares, 1e-9 * Math.Max(1, squares));
        // Bucket b holds the values in [bucket_limit[b - 1], bucket_limit[b]); the first one everything below its edge.
        for (int b = 0; b < h.Bucket.Count; b++)
        {
            double lower = b == 0 ? double.NegativeInfinity : h.BucketLimit[b - 1], upper = h.BucketLimit[b];
            Assert.True(values.Count(v => v >= lower && v < upper) == h.Bucket[b], $"{what}: bucket {b} [{lower}, {upper}) holds {h.Bucket[b]}");
        }
    }
}
