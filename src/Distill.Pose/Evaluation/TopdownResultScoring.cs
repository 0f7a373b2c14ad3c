using Distill.Pose.Datasets;

namespace Distill.Pose.Evaluation;

/// <summary>
/// One top-down prediction before scoring: the person box it was cropped from, the box's detector score (1 for a
/// ground-truth or given box) and K x (x, y, score) keypoints in image coordinates.
/// </summary>
/// <param name="Image">Groups the people of one image for OKS-NMS; any key unique per image (a COCO image id).</param>
public readonly record struct TopdownPrediction(long Image, BoundingBox Box, double BoxScore, double[] Keypoints);

/// <summary>
/// mmpose's scoring of top-down predictions (CocoMetric's 'bbox_keypoint' score mode with 'oks_nms'): each person's
/// instance score is its box score rescored by its confident keypoints (<see cref="KeypointRescoring"/>), then
/// OKS-NMS per image (<see cref="OksNms"/>, scale: the box area) drops the people a better-scored one duplicates.
/// Evaluation ranks exactly these results and prediction files carry them, so a written file scores as evaluation does.
/// </summary>
public static class TopdownResultScoring
{
    /// <summary>
    /// The kept predictions, as indices into <paramref name="predictions"/> with their instance scores: images in order
    /// of first appearance, each image's people highest score first (the order mmpose writes them in).
    /// </summary>
    public static IReadOnlyList<(int Index, double Score)> Apply(IReadOnlyList<TopdownPrediction> predictions, ReadOnlySpan<double> sigmas,
        double keypointThreshold = KeypointRescoring.DefaultThreshold, double nmsThreshold = OksNms.DefaultThreshold)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        int k = sigmas.Length;
        var scores = new double[predictions.Count];
        var groups = new Dictionary<long, List<int>>();
        var imageOrder = new List<long>();
        var keypointScores = new double[k];
        for (int i = 0; i < predictions.Count; i++)
        {
            var p = predictions[i];
            if (p.Keypoints is null || p.Keypoints.Length != 3 * k)
                throw new ArgumentException($"prediction {i}: keypoints must hold {3 * k} values for {k} sigmas, got {p.Keypoints?.Length ?? 0}");
            for (int j = 0; j < k; j++) keypointScores[j] = p.Keypoints[3 * j + 2];
            scores[i] = KeypointRescoring.Rescore(p.BoxScore, keypointScores, keypointThreshold);
            if (!groups.TryGetValue(p.Image, out var members))
            {
                groups[p.Image] = members = [];
                imageOrder.Add(p.Image);
            }
            members.Add(i);
        }

        var kept = new List<(int, double)>(predictions.Count);
        foreach (long image in imageOrder)
        {
            var members = groups[image];
            var keep = OksNms.Apply(
                members.Select(i => predictions[i].Keypoints).ToArray(),
                members.Select(i => (double)predictions[i].Box.Area).ToArray(),
                members.Select(i => scores[i]).ToArray(),
                sigmas, nmsThreshold);
            foreach (int m in keep) kept.Add((members[m], scores[members[m]]));
        }
        return kept;
    }
}
