using Distill.Pose.BottomUp;
using Distill.Pose.BottomUp.Evaluation;
using Distill.Pose.Evaluation;
using Distill.Torch;
using Distill.Training.Evaluation;

namespace Distill.Training.Distributed;

/// <summary>
/// Bottom-up validation split over the workers: each decodes the images of its shard (cut like the training order,
/// padding skipped), the poses are gathered back in image order, and rank 0 scores the whole split once and shares
/// the metrics, so they equal a single process's.
/// </summary>
public static class ShardedBottomupEvaluation
{
    public static Dictionary<string, double> Evaluate(DistributedContext dist, BottomupPoseEstimator model, IEnumerable<BottomupValSplit> splits,
        int edge, int batchSize, Device device, Action<string, int, int>? progress = null)
    {
        if (!dist.IsDistributed) return BottomupValidation.Evaluate(model, splits, edge, batchSize, device, progress);
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var split in splits)
        {
            var results = Gather(dist, model, split, edge, batchSize, device);
            if (dist.IsMain)
                foreach (var (k, v) in BottomupValidation.Score(model, split, results)) metrics[k] = v;
            progress?.Invoke(split.Name, split.Samples.Count, split.Samples.Count);
        }
        // Rank 0 computed them; every worker gets the same numbers (the best checkpoint is chosen alike everywhere).
        return dist.ShareFromMain(metrics);
    }

    /// <summary>
    /// The decoded poses of the whole split, from every worker's shard, in the order one process lists them (image by
    /// image, each image's poses as decoded).
    /// </summary>
    public static List<CocoKeypointResult> Gather(DistributedContext dist, BottomupPoseEstimator model, BottomupValSplit split, int edge,
        int batchSize, Device device)
    {
        int n = split.Samples.Count, world = dist.WorldSize, k = model.Meta.NumKeypoints;
        // Rank r takes positions r, r + world, ...; positions past the split are the sampler's padding and skipped.
        var positions = Enumerable.Range(0, (n + world - 1) / world).Select(i => dist.Rank + i * world).Where(p => p < n).ToArray();
        var positionOf = positions.ToDictionary(p => split.Samples[p].ImageId);
        var mine = BottomupEvaluation.Predict(model, positions.Select(p => split.Samples[p]).ToList(), edge, batchSize, device)
            .Select(pose => (Position: positionOf[pose.ImageId], Pose: pose)).ToList();

        // Poses per image differ, so every rank first learns the longest list and pads its own to it with NaN rows.
        int width = 2 + 3 * k;
        int longest = (int)dist.AllGather([mine.Count]).Max(c => c[0]);
        // Nobody found anyone (an untrained model): every rank knows, and there is nothing to gather.
        if (longest == 0) return [];
        var flat = new double[longest * width];
        Array.Fill(flat, double.NaN);
        for (int i = 0; i < mine.Count; i++)
        {
            flat[i * width] = mine[i].Position;
            flat[i * width + 1] = mine[i].Pose.Score;
            Array.Copy(mine[i].Pose.Keypoints, 0, flat, i * width + 2, 3 * k);
        }
        var rows = new List<(int Position, int Rank, int Index, CocoKeypointResult Pose)>();
        var parts = dist.AllGather(flat);
        for (int r = 0; r < parts.Length; r++)
            for (int i = 0; i < longest && !double.IsNaN(parts[r][i * width]); i++)
            {
                int position = (int)parts[r][i * width];
                var kps = parts[r].AsSpan(i * width + 2, 3 * k).ToArray();
                rows.Add((position, r, i, new CocoKeypointResult(split.Samples[position].ImageId, kps, parts[r][i * width + 1])));
            }
        return rows.OrderBy(x => x.Position).ThenBy(x => x.Index).Select(x => x.Pose).ToList();
    }
}
