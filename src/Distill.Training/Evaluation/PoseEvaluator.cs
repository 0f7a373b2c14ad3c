using System.Collections.Concurrent;
using Distill.Pose.Datasets;
using Distill.Pose.Evaluation;
using Distill.Pose.Keypoints;
using Distill.Pose.Models;
using Distill.Pose.Transforms;
using Distill.Torch;
using Distill.Training.Config.Schema;
using Distill.Training.Models;
using Distill.Training.Engine;

namespace Distill.Training.Evaluation;

/// <summary>Predictions for one validation split, in image coordinates of the source's own keypoint set.</summary>
public sealed record SourcePredictions(SourceData Source, IReadOnlyList<PoseInstance> Instances, IReadOnlyList<double[]> Keypoints,
    IReadOnlyList<double[]> Scores);

/// <summary>
/// Evaluates a model on each source's validation split: crops every instance box without augmentation, predicts
/// (with the flip test when asked), maps keypoints back to the image and projects the model's keypoint set onto the
/// source's by name. Which metrics are computed is chosen by family (evaluation.metrics, by default
/// <see cref="EvaluationOptions.DefaultMetrics"/>): COCO AP/AR on COCO-format sources (with mmpose's rescoring and
/// OKS-NMS; CrowdPose's AP/AR and crowd-index breakdown instead where asked and the images carry crowdIndex), PCKh on MPII-format sources, PCK@0.1 normalised by box size and the end-point error on every source.
/// </summary>
public static class PoseEvaluator
{
    /// <summary>Every source's metrics, named SOURCE/NAME; <paramref name="metrics"/> null computes the default families.</summary>
    public static Dictionary<string, double> Evaluate(TopdownPoseEstimator model, KeypointSet modelSet, IReadOnlyList<SourceData> sources,
        Device device, int batchSize, bool flipTest, int workers = 2, CancellationToken ct = default,
        IReadOnlyCollection<MetricFamily>? metrics = null, Action<string, int, int>? progress = null)
    {
        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var s in sources.Where(s => s.Val is not null))
        {
            var preds = Predict(model, modelSet, s, device, batchSize, flipTest, null, workers, ct,
                progress is null ? null : (done, total) => progress(s.Name, done, total));
            foreach (var (k, v) in Score(preds, metrics)) values[$"{s.Name}/{k}"] = v;
        }
        return values;
    }

    public static SourcePredictions Predict(TopdownPoseEstimator model, KeypointSet modelSet, SourceData source, Device device,
        int batchSize, bool flipTest, int workers = 2, CancellationToken ct = default) =>
        Predict(model, modelSet, source, device, batchSize, flipTest, null, workers, ct);

    /// <summary>
    /// Predictions for the validation instances at <paramref name="indices"/> (all of them when null), in that order;
    /// <paramref name="progress"/> hears (instances done, total) after each batch.
    /// </summary>
    public static SourcePredictions Predict(TopdownPoseEstimator model, KeypointSet modelSet, SourceData source, Device device,
        int batchSize, bool flipTest, IReadOnlyList<int>? indices, int workers = 2, CancellationToken ct = default,
        Action<int, int>? progress = null)
    {
        var val = source.Val ?? throw new ArgumentException($"source '{source.Name}' has no validation split");
        var instances = (indices ?? Enumerable.Range(0, val.Count).ToList()).Select(i => val[i]).ToList();
        var mapping = KeypointMapping.Between(modelSet, source.KeypointSet);
        var modelIndexOfSource = mapping.SourceIndexOfTarget;
        var pipeline = new TopdownPipeline(new TopdownPipelineOptions
        {
            InputSize = model.InputSize,
            Mean = model.Mean,
            Std = model.Std,
        });
        var kps = new double[instances.Count][];
        var scores = new double[instances.Count][];
        // A channels-last model (a student trained so, or its EMA) gets its batches in that layout too.
        bool channelsLast = ChannelsLast.IsStoredIn(model);
        bool wasTraining = model.Training;
        model.Eval();
        try
        {
            for (int start = 0; start < instances.Count; start += batchSize)
            {
                ct.ThrowIfCancellationRequested();
                int n = Math.Min(batchSize, instances.Count - start);
                var crops = new TopdownResult[n];
                Parallel.For(0, n, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, workers), CancellationToken = ct }, i =>
                {
                    var inst = instances[start + i];
                    var sample = new TopdownSample
                    {
                        Id = inst.InstanceId.ToString(System.Globalization.CultureInfo.InvariantCulture),
                        ImagePath = inst.ImagePath,
                        Bbox = (inst.Bbox.X, inst.Bbox.Y, inst.Bbox.Width, inst.Bbox.Height),
                        Keypoints = new float[modelSet.Count * 2],
                        Visibility = new float[modelSet.Count],
                    };
                    crops[i] = pipeline.Process(sample, PoseImageLoader.Load(inst.ImagePath), TopdownAugmentation.None, 0, 0, indices?[start + i] ?? start + i);
                });
                var (w, h) = model.InputSize;
                var flat = new float[n * 3 * h * w];
                for (int i = 0; i < n; i++) crops[i].Input.CopyTo(flat, i * 3 * h * w);
                Distill.Pose.Codecs.DecodedKeypoints decoded;
                using (var scope = torch.NewDisposeScope())
                using (Autograd.InferenceMode())
                {
                    var input = ChannelsLast.Input(torch.FromArray(flat, [n, 3, h, w]).To(device), channelsLast);
                    decoded = model.Predict(input, flipTest);
                }
                for (int i = 0; i < n; i++)
                {
                    var geom = crops[i].Geometry;
                    int k = modelIndexOfSource.Length;
                    var p = new double[k * 2];
                    var sc = new double[k];
                    for (int j = 0; j < k; j++)
                    {
                        int m = modelIndexOfSource[j];
                        if (m < 0) continue; // the model does not predict this joint of the source set
                        var (x, y) = geom.CropToImage(decoded.Keypoints[i, m, 0], decoded.Keypoints[i, m, 1]);
                        p[2 * j] = x;
                        p[2 * j + 1] = y;
                        sc[j] = decoded.Scores[i, m];
                    }
                    kps[start + i] = p;
                    scores[start + i] = sc;
                }
                progress?.Invoke(start + n, instances.Count);
            }
        }
        finally
        {
            model.Train(wasTraining);
        }
        return new SourcePredictions(source, instances, kps, scores);
    }

    /// <summary>The metrics of <paramref name="metrics"/> (null: the default families) that apply to the predictions' source.</summary>
    public static Dictionary<string, double> Score(SourcePredictions p, IReadOnlyCollection<MetricFamily>? metrics = null)
    {
        metrics ??= EvaluationOptions.DefaultMetrics;
        var m = new Dictionary<string, double>(StringComparer.Ordinal);
        var set = p.Source.KeypointSet;
        int k = set.Count;
        var gt = p.Instances.Select(i => i.Keypoints.Select(v => (double)v).ToArray()).ToList();
        var vis = p.Instances.Select(i => i.Visibility.Select(v => v > 0).ToArray()).ToList();
        var boxes = p.Instances.Select(i => new double[] { i.Bbox.X, i.Bbox.Y, i.Bbox.X + i.Bbox.Width, i.Bbox.Y + i.Bbox.Height }).ToList();
        bool hasGtKeypoints = vis.Any(v => v.Any(b => b));
        if (hasGtKeypoints && metrics.Contains(MetricFamily.Pck))
            m[MetricNames.Pck] = PckAccuracy.ComputeWithBoxes(p.Keypoints, gt, vis, boxes, 0.1).Mean;
        if (hasGtKeypoints && metrics.Contains(MetricFamily.Epe))
            m[MetricNames.Epe] = EndPointError.Compute(p.Keypoints, gt, vis);

        bool crowdPose = p.Source.Val is CocoKeypointDataset { Images.Count: > 0 } cp && cp.Images.All(i => i.CrowdIndex is not null)
            && metrics.Contains(MetricFamily.CrowdPose);
        if (p.Source.Val is CocoKeypointDataset coco && (crowdPose || metrics.Contains(MetricFamily.Coco)))
        {
            var gtAnns = coco.GroundTruth.Select(g => new CocoKeypointAnnotation(g.ImageId, g.InstanceId, Triplets(g.Keypoints, g.Visibility),
                g.Area, [g.Bbox.X, g.Bbox.Y, g.Bbox.Width, g.Bbox.Height], g.IsCrowd, g.NumKeypoints)).ToList();
            var truth = new CocoKeypointGroundTruth(coco.Images.Select(i => i.Id), gtAnns);
            var people = new TopdownPrediction[p.Instances.Count];
            for (int i = 0; i < p.Instances.Count; i++)
            {
                var inst = p.Instances[i];
                var trip = new double[k * 3];
                for (int j = 0; j < k; j++)
                {
                    trip[3 * j] = p.Keypoints[i][2 * j];
                    trip[3 * j + 1] = p.Keypoints[i][2 * j + 1];
                    trip[3 * j + 2] = p.Scores[i][j];
                }
                people[i] = new TopdownPrediction(inst.ImageId, inst.Bbox, inst.Score, trip);
            }
            // The scoring `distill predict` writes too: rescored instance scores, then OKS-NMS per image.
            var kept = TopdownResultScoring.Apply(people, set.Sigmas)
                .Select(r => new CocoKeypointResult(people[r.Index].Image, people[r.Index].Keypoints, r.Score)).ToList();
            var stats = crowdPose
                ? new CrowdPoseEvaluator(set.Sigmas).Evaluate(truth, kept, coco.Images.ToDictionary(i => i.Id, i => i.CrowdIndex!.Value)).ToDictionary()
                : new CocoKeypointEvaluator(set.Sigmas).Evaluate(truth, kept).ToDictionary();
            foreach (var (name, value) in stats) m[name] = value;
        }
        else if (p.Source.Val is MpiiDataset && metrics.Contains(MetricFamily.Pckh) && p.Instances.All(i => i.HeadBox is not null) && k == 16)
        {
            var heads = p.Instances.Select(i => MpiiPckh.HeadSize(i.HeadBox!.Value.X, i.HeadBox.Value.Y, i.HeadBox.Value.X2, i.HeadBox.Value.Y2)).ToList();
            // Predictions and ground truth come from the same annotation frame, so no 1-based offset applies, unless the
            // head boxes came from mpii_gt_val.mat: then the numbers follow mmpose's rule for it (+1 px, strict <).
            bool mmpose = p.Source.PckhFromMpiiGt;
            var r = MpiiPckh.Evaluate(p.Keypoints, gt, vis, heads, 0.5,
                predictionOffset: mmpose ? MpiiPckh.DefaultPredictionOffset : 0, inclusive: !mmpose);
            m[MetricNames.Pckh] = r.Mean;
            m[MetricNames.PckhAt01] = r.MeanAt01;
        }
        return m;
    }

    private static double[] Triplets(float[] xy, float[] v)
    {
        var t = new double[v.Length * 3];
        for (int j = 0; j < v.Length; j++)
        {
            t[3 * j] = xy[2 * j];
            t[3 * j + 1] = xy[2 * j + 1];
            t[3 * j + 2] = v[j];
        }
        return t;
    }

    /// <summary>
    /// PCK@0.1 of a mean-pose predictor: the average box-normalised pose of the training split placed in every
    /// validation box. A trained model must beat it clearly to have learned anything.
    /// </summary>
    public static double MeanPoseBaseline(PoseDataset train, PoseDataset val)
    {
        int k = train.KeypointSet.Count;
        var sum = new double[k * 2];
        var cnt = new int[k];
        foreach (var inst in train)
        {
            for (int j = 0; j < k; j++)
            {
                if (inst.Visibility[j] <= 0 || inst.Bbox.Width <= 0 || inst.Bbox.Height <= 0) continue;
                sum[2 * j] += (inst.Keypoints[2 * j] - inst.Bbox.X) / inst.Bbox.Width;
                sum[2 * j + 1] += (inst.Keypoints[2 * j + 1] - inst.Bbox.Y) / inst.Bbox.Height;
                cnt[j]++;
            }
        }
        var preds = new List<double[]>();
        var gt = new List<double[]>();
        var vis = new List<bool[]>();
        var boxes = new List<double[]>();
        foreach (var inst in val)
        {
            var p = new double[k * 2];
            for (int j = 0; j < k; j++)
            {
                double u = cnt[j] > 0 ? sum[2 * j] / cnt[j] : 0.5, v = cnt[j] > 0 ? sum[2 * j + 1] / cnt[j] : 0.5;
                p[2 * j] = inst.Bbox.X + u * inst.Bbox.Width;
                p[2 * j + 1] = inst.Bbox.Y + v * inst.Bbox.Height;
            }
            preds.Add(p);
            gt.Add(inst.Keypoints.Select(x => (double)x).ToArray());
            vis.Add(inst.Visibility.Select(x => x > 0).ToArray());
            boxes.Add([inst.Bbox.X, inst.Bbox.Y, inst.Bbox.X + inst.Bbox.Width, inst.Bbox.Y + inst.Bbox.Height]);
        }
        return PckAccuracy.ComputeWithBoxes(preds, gt, vis, boxes, 0.1).Mean;
    }
}
