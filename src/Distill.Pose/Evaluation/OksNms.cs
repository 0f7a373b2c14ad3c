namespace Distill.Pose.Evaluation;

/// <summary>
/// mmpose's OKS non-maximum suppression for one image: repeatedly keep the highest-scoring remaining person and drop
/// every other whose OKS with it exceeds the threshold. OKS here is
/// <see cref="ObjectKeypointSimilarity.BetweenPredictions"/>: all keypoints, scale = mean of the two areas.
/// </summary>
/// <remarks>
/// Scores are ordered with a stable sort (ties keep input order); mmpose's numpy argsort leaves tie order
/// unspecified. OKS is rounded to single precision before the comparison, as mmpose stores it in float32.
/// </remarks>
public static class OksNms
{
    /// <summary>mmpose's default threshold.</summary>
    public const double DefaultThreshold = 0.9;

    /// <summary>Indices of the kept people, highest score first.</summary>
    /// <param name="keypoints">Per person, K x (x, y, score) flattened.</param>
    /// <param name="areas">Per person, the area used as OKS scale (mmpose: box scale w x h, or keypoint extent).</param>
    /// <param name="scores">Per person, the instance score.</param>
    /// <param name="sigmas">Per-keypoint OKS sigmas (K values).</param>
    /// <param name="threshold">People with OKS &gt; threshold to a kept one are suppressed.</param>
    public static int[] Apply(IReadOnlyList<double[]> keypoints, IReadOnlyList<double> areas, IReadOnlyList<double> scores,
        ReadOnlySpan<double> sigmas, double threshold = DefaultThreshold)
    {
        ArgumentNullException.ThrowIfNull(keypoints);
        ArgumentNullException.ThrowIfNull(areas);
        ArgumentNullException.ThrowIfNull(scores);
        int n = keypoints.Count;
        if (areas.Count != n || scores.Count != n)
            throw new ArgumentException($"OKS-NMS needs one area and one score per person: {n} people, {areas.Count} areas, {scores.Count} scores");
        for (int i = 0; i < n; i++)
        {
            if (keypoints[i] is null || keypoints[i].Length != 3 * sigmas.Length)
                throw new ArgumentException($"person {i}: keypoints must hold {3 * sigmas.Length} values for {sigmas.Length} sigmas, got {keypoints[i]?.Length ?? 0}");
            if (double.IsNaN(scores[i])) throw new ArgumentException($"person {i}: score is NaN");
        }

        var order = new List<int>(Enumerable.Range(0, n).OrderBy(i => -scores[i]));
        var keep = new List<int>();
        float limit = (float)threshold;
        while (order.Count > 0)
        {
            int best = order[0];
            keep.Add(best);
            var rest = new List<int>(order.Count - 1);
            for (int j = 1; j < order.Count; j++)
            {
                int other = order[j];
                float oks = (float)ObjectKeypointSimilarity.BetweenPredictions(
                    keypoints[best], areas[best], keypoints[other], areas[other], sigmas);
                if (oks <= limit) rest.Add(other);
            }
            order = rest;
        }
        return keep.ToArray();
    }

    /// <summary>
    /// Runs <see cref="Apply"/> on each image's results separately and returns the kept results: images in order of
    /// first appearance, each image's people highest score first (the order mmpose writes them in).
    /// </summary>
    /// <param name="results">All results; their <see cref="CocoKeypointResult.Score"/> is the instance score.</param>
    /// <param name="areas">One area per result.</param>
    public static IReadOnlyList<CocoKeypointResult> ApplyPerImage(IReadOnlyList<CocoKeypointResult> results,
        IReadOnlyList<double> areas, ReadOnlySpan<double> sigmas, double threshold = DefaultThreshold)
    {
        ArgumentNullException.ThrowIfNull(results);
        ArgumentNullException.ThrowIfNull(areas);
        if (areas.Count != results.Count)
            throw new ArgumentException($"OKS-NMS needs one area per result: {results.Count} results, {areas.Count} areas");
        var groups = new Dictionary<long, List<int>>();
        var imageOrder = new List<long>();
        for (int i = 0; i < results.Count; i++)
        {
            if (!groups.TryGetValue(results[i].ImageId, out var list))
            {
                groups[results[i].ImageId] = list = [];
                imageOrder.Add(results[i].ImageId);
            }
            list.Add(i);
        }

        var kept = new List<CocoKeypointResult>();
        foreach (long image in imageOrder)
        {
            var members = groups[image];
            var keep = Apply(
                members.Select(i => results[i].Keypoints).ToArray(),
                members.Select(i => areas[i]).ToArray(),
                members.Select(i => results[i].Score).ToArray(),
                sigmas, threshold);
            foreach (int k in keep) kept.Add(results[members[k]]);
        }
        return kept;
    }
}
