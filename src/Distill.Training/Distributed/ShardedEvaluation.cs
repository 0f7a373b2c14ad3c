using Distill.Pose.Keypoints;
using Distill.Pose.Models;
using Distill.Torch;
using Distill.Training.Engine;
using Distill.Training.Evaluation;

namespace Distill.Training.Distributed;

/// <summary>
/// Validation split over the workers: each predicts its shard of every validation split (cut like the training
/// order), the predictions are gathered back into the split's order, padding dropped, and rank 0 scores the whole
/// split once and shares the metrics, so they equal a single process's.
/// </summary>
public static class ShardedEvaluation
{
    public static Dictionary<string, double> Evaluate(DistributedContext dist, TopdownPoseEstimator model, KeypointSet modelSet,
        IReadOnlyList<SourceData> sources, Device device, int batchSize, bool flipTest, int workers,
        IReadOnlyCollection<Config.Schema.MetricFamily>? families = null, Action<string, int, int>? progress = null)
    {
        if (!dist.IsDistributed)
            return PoseEvaluator.Evaluate(model, modelSet, sources, device, batchSize, flipTest, workers, CancellationToken.None, families, progress);
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var s in sources.Where(s => s.Val is not null))
        {
            var whole = Gather(dist, model, modelSet, s, device, batchSize, flipTest, workers);
            if (dist.IsMain)
                foreach (var (k, v) in PoseEvaluator.Score(whole, families)) metrics[$"{s.Name}/{k}"] = v;
        }
        // Rank 0 computed them; every worker gets the same numbers (the best checkpoint is chosen alike everywhere).
        return dist.ShareFromMain(metrics);
    }

    /// <summary>The predictions of the whole validation split of <paramref name="source"/>, from every worker's shard.</summary>
    public static SourcePredictions Gather(DistributedContext dist, TopdownPoseEstimator model, KeypointSet modelSet, SourceData source,
        Device device, int batchSize, bool flipTest, int workers)
    {
        var val = source.Val!;
        int n = val.Count;
        int k = Distill.Pose.Keypoints.KeypointMapping.Between(modelSet, source.KeypointSet).SourceIndexOfTarget.Length;
        var shard = DistributedContext.Shard(Enumerable.Range(0, n).ToArray(), dist.Rank, dist.WorldSize);
        var mine = PoseEvaluator.Predict(model, modelSet, source, device, batchSize, flipTest, shard, workers, CancellationToken.None);
        // One row of 3k numbers per instance: x, y of every keypoint, then the scores.
        var flat = new double[shard.Length * 3 * k];
        for (int i = 0; i < shard.Length; i++)
        {
            Array.Copy(mine.Keypoints[i], 0, flat, i * 3 * k, 2 * k);
            Array.Copy(mine.Scores[i], 0, flat, i * 3 * k + 2 * k, k);
        }
        var parts = dist.AllGather(flat);
        var kps = new double[n][];
        var scores = new double[n][];
        for (int i = 0; i < shard.Length; i++)
            for (int r = 0; r < dist.WorldSize; r++)
            {
                // Position i*world + r of the padded order is instance i*world + r; positions past n are padding.
                long pos = (long)i * dist.WorldSize + r;
                if (pos >= n) continue;
                kps[pos] = parts[r].AsSpan(i * 3 * k, 2 * k).ToArray();
                scores[pos] = parts[r].AsSpan(i * 3 * k + 2 * k, k).ToArray();
            }
        return new SourcePredictions(source, Enumerable.Range(0, n).Select(i => val[i]).ToList(), kps, scores);
    }
}
