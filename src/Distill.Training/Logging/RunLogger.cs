using System.Text.Json;
using Distill.Pose.BottomUp;
using Distill.Pose.BottomUp.Evaluation;
using Distill.Pose.Datasets;
using Distill.Pose.Drawing;
using Distill.Pose.Keypoints;
using Distill.Pose.Models;
using Distill.Torch;
using Distill.Torch.Vision;
using Distill.Training.Engine;
using Distill.Training.Evaluation;
using Microsoft.Extensions.Logging;

namespace Distill.Training.Logging;

/// <summary>What a run records besides its console log (plain values from the logging section of the config).</summary>
public sealed record RunLogSettings
{
    /// <summary>Write TensorBoard event files (under tensorboard/ in the run directory).</summary>
    public bool Tensorboard { get; init; } = true;

    /// <summary>Validation crops (bottom-up: whole images) with ground-truth and predicted skeletons, in TensorBoard.</summary>
    public bool Images { get; init; }

    /// <summary>Weight and gradient histograms of the trainable student parameters, in TensorBoard.</summary>
    public bool Histograms { get; init; }
}

/// <summary>
/// The run's records: scalars to metrics.jsonl and TensorBoard, validation images, weight and gradient histograms, and
/// summary.json. Every tag is written to both sinks the same way, so the two never disagree.
/// </summary>
public sealed class RunLogger : IDisposable
{
    private readonly string? _dir;
    private readonly SummaryWriter? _tb;
    private readonly MetricsLog? _metrics;
    private readonly ILogger _log;
    private readonly RunLogSettings _settings;

    public RunLogger(string runDirectory, RunLogSettings settings, ILogger log)
    {
        _dir = runDirectory;
        _settings = settings;
        _log = log;
        _tb = settings.Tensorboard ? new SummaryWriter(Path.Combine(runDirectory, "tensorboard")) : null;
        if (settings.Histograms && _tb is null)
            log.LogWarning("logging.histograms is on but logging.tensorboard is off; histograms are only written to TensorBoard, so none will be");
        _metrics = new MetricsLog(runDirectory);
    }

    private RunLogger(ILogger log)
    {
        _settings = new RunLogSettings { Tensorboard = false };
        _log = log;
    }

    /// <summary>A logger that writes nothing: the one of every data-parallel worker but rank 0, which alone writes the run directory.</summary>
    public static RunLogger Disabled(ILogger log) => new(log);

    /// <summary>Whether histograms can be written at all (asked for, and TensorBoard on).</summary>
    public bool WritesHistograms => _tb is not null && _settings.Histograms;

    /// <summary>Validation images (top-down: person crops) on each source's contact sheet.</summary>
    public const int ImagesPerSheet = 4;

    /// <summary>Whether validation images can be written (asked for, and TensorBoard on).</summary>
    public bool WritesImages => _tb is not null && _settings.Images;

    /// <summary>Scalars at one optimizer step, to both sinks.</summary>
    public void Scalars(IReadOnlyDictionary<string, double> scalars, long step, int epoch)
    {
        _tb?.AddScalars(scalars, step);
        _metrics?.Log(step, epoch, scalars);
    }

    /// <summary>
    /// Marks where a resumed run continues: TensorBoard drops whatever the interrupted run logged from
    /// <paramref name="step"/> on.
    /// </summary>
    public void SessionStart(long step, string checkpoint)
    {
        _tb?.AddSessionStart(step, checkpoint);
        // metrics.jsonl has no such marker: the records the interrupted run wrote after its checkpoint are removed instead.
        _metrics?.DropFrom(step);
    }

    /// <summary>weights/NAME for every trainable parameter (frozen ones cannot change, so they are left out).</summary>
    public void WeightHistograms(Distill.Torch.Nn.Module model, long step)
    {
        foreach (var (name, p) in model.NamedParameters())
            if (p.RequiresGrad) Histogram("weights/" + name, p, step);
    }

    /// <summary>grads/NAME for every trainable parameter that has a gradient now.</summary>
    public void GradientHistograms(Distill.Torch.Nn.Module model, long step)
    {
        foreach (var (name, p) in model.NamedParameters())
        {
            if (!p.RequiresGrad) continue;
            using var grad = p.Grad;
            if (grad is not null) Histogram("grads/" + name, grad, step);
        }
    }

    private void Histogram(string tag, Tensor t, long step)
    {
        float[] values;
        using (Autograd.NoGrad())
        using (var cpu = t.To(DType.Float32, Device.Cpu))
            values = cpu.ToArray<float>();
        try
        {
            _tb!.AddHistogram(tag, values, step);
        }
        catch (ArgumentException e)
        {
            // Non-finite values: training goes on (the loss guard decides about that); the gap is reported.
            _log.LogWarning("histogram {Tag} at iteration {Step} not written: {Message}", tag, step, e.Message);
        }
    }

    /// <summary>A contact sheet per source of the first validation crops, ground truth and prediction overlaid.</summary>
    public void ValidationImages(TopdownPoseEstimator model, KeypointSet modelSet, IReadOnlyList<SourceData> sources, Device device,
        bool flip, string prefix, long step)
    {
        if (!WritesImages) return;
        foreach (var s in sources.Where(s => s.Val is not null && s.Val.Count > 0))
        {
            var preds = PoseEvaluator.Predict(model, modelSet, new SourceData { Options = s.Options, KeypointSet = s.KeypointSet, Val = new TakeFirst(s.Val!, ImagesPerSheet) },
                device, ImagesPerSheet, flip, 1, CancellationToken.None);
            var overlays = new List<PoseOverlay>();
            var skeleton = s.KeypointSet.Skeleton.Select(l => (l.From, l.To)).ToList();
            for (int i = 0; i < preds.Instances.Count; i++)
            {
                var inst = preds.Instances[i];
                var img = Image.Read(inst.ImagePath);
                overlays.Add(new PoseOverlay(img,
                [
                    new PoseLayer(inst.Keypoints.Select(v => (double)v).ToArray(), inst.Visibility.Select(v => (double)v).ToArray(), skeleton,
                        PoseDrawing.GroundTruthColour, 3, 2, 0.5),
                    new PoseLayer(preds.Keypoints[i], preds.Scores[i], skeleton, PoseDrawing.PredictionColour, 3, 2, 0.0),
                ]));
            }
            _tb!.AddImage($"{prefix}{s.Name}", PoseDrawing.ContactSheet(overlays, ImagesPerSheet), step);
        }
    }

    /// <summary>
    /// A contact sheet per bottom-up validation split of its first whole images, every annotated person and every
    /// decoded pose overlaid (at the evaluation edge, as validation scores them).
    /// </summary>
    public void ValidationImages(BottomupPoseEstimator model, KeypointSet set, IReadOnlyList<BottomupValSplit> splits, int edge, Device device,
        string prefix, long step)
    {
        if (!WritesImages) return;
        var skeleton = set.Skeleton.Select(l => (l.From, l.To)).ToList();
        foreach (var split in splits.Where(s => s.Samples.Count > 0))
        {
            var first = split.Samples.Take(ImagesPerSheet).ToList();
            var poses = BottomupEvaluation.Predict(model, first, edge, ImagesPerSheet, device).ToLookup(r => r.ImageId);
            var truth = split.GroundTruth.Annotations.Where(a => !a.IsCrowd && a.NumKeypoints > 0).ToLookup(a => a.ImageId);
            var overlays = new List<PoseOverlay>();
            foreach (var sample in first)
            {
                var layers = new List<PoseLayer>();
                foreach (var a in truth[sample.ImageId])
                    layers.Add(PoseLayer.FromTriples(a.Keypoints, a.Keypoints.Length / 3, skeleton, PoseDrawing.GroundTruthColour, kptThreshold: 0.5));
                foreach (var r in poses[sample.ImageId])
                    layers.Add(PoseLayer.FromTriples(r.Keypoints, r.Keypoints.Length / 3, skeleton, PoseDrawing.PredictionColour, kptThreshold: 0.0));
                overlays.Add(new PoseOverlay(sample.Image ?? Image.Read(sample.ImagePath), layers));
            }
            _tb!.AddImage($"{prefix}{split.Name}", PoseDrawing.ContactSheet(overlays, ImagesPerSheet), step);
        }
    }

    /// <summary>summary.json: what `distill report` tabulates for this run.</summary>
    public void Summary(IReadOnlyDictionary<string, object?> summary)
    {
        if (_dir is null) return;
        File.WriteAllText(Path.Combine(_dir, "summary.json"), JsonSerializer.Serialize(summary, new JsonSerializerOptions { WriteIndented = true }));
    }

    public void Flush() => _tb?.Flush();

    public void Dispose()
    {
        _tb?.Dispose();
        _metrics?.Dispose();
    }

    /// <summary>The first n instances of a dataset (for image logging).</summary>
    private sealed class TakeFirst(PoseDataset inner, int n) : PoseDataset
    {
        public override string Name => inner.Name;
        public override KeypointSet KeypointSet => inner.KeypointSet;
        public override int Count => Math.Min(n, inner.Count);
        public override IReadOnlyList<ImageInfo> Images => inner.Images;
        public override LoadReport Report => inner.Report;
        public override PoseInstance this[int index] => inner[index];
    }
}
