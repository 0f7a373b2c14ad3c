namespace Distill.Pose.Evaluation;

/// <summary>
/// COCO keypoint AP/AR, computed the way COCOeval (iouType 'keypoints') computes them, so that numbers are
/// comparable with published results: OKS matching at thresholds 0.50:0.05:0.95, at most 20 detections per image,
/// area ranges all / medium / large, 101-point interpolated precision.
/// </summary>
/// <remarks>
/// Behaviour kept on purpose because it changes numbers:
/// detections are ordered by score with a stable sort (ties keep input order, per image and then across images in
/// ascending image id); a detection matches the best-OKS free ground truth, later ground truths winning ties, and
/// stops at ignored ones once it holds a regular match; crowd regions can absorb many detections; unmatched
/// detections whose own area lies outside the range are ignored; a ground truth with <c>num_keypoints == 0</c> or
/// <c>iscrowd</c> is ignored.
/// </remarks>
public sealed class CocoKeypointEvaluator
{
    private const double BigArea = 1e5 * 1e5;

    private static readonly (double Lo, double Hi)[] AreaRanges =
        [(0, BigArea), (32 * 32, 96 * 96), (96 * 96, BigArea)];

    private const int All = 0, Medium = 1, Large = 2;

    private readonly double[] _sigmas;

    /// <param name="sigmas">Per-keypoint OKS sigmas; their count fixes K.</param>
    /// <param name="maxDetections">Detections kept per image, highest scores first (COCO: 20).</param>
    /// <param name="categoryId">The category scored; ground truth of other categories is left out.</param>
    public CocoKeypointEvaluator(IReadOnlyList<double> sigmas, int maxDetections = 20, int categoryId = 1)
    {
        ArgumentNullException.ThrowIfNull(sigmas);
        if (sigmas.Count == 0) throw new ArgumentException("at least one sigma is needed", nameof(sigmas));
        for (int i = 0; i < sigmas.Count; i++)
            if (!(sigmas[i] > 0) || double.IsInfinity(sigmas[i]))
                throw new ArgumentException($"sigma {i} must be positive and finite, got {sigmas[i]}", nameof(sigmas));
        if (maxDetections < 1) throw new ArgumentOutOfRangeException(nameof(maxDetections), maxDetections, "must be at least 1");
        _sigmas = sigmas.ToArray();
        MaxDetections = maxDetections;
        CategoryId = categoryId;
    }

    public IReadOnlyList<double> Sigmas => _sigmas;

    public int MaxDetections { get; }

    public int CategoryId { get; }

    /// <summary>OKS thresholds 0.50, 0.55, ..., 0.95, with the exact values numpy's linspace produces.</summary>
    public static IReadOnlyList<double> OksThresholds { get; } = Linspace(0.5, 0.95, 10);

    /// <summary>Recall points 0.00, 0.01, ..., 1.00, with the exact values numpy's linspace produces.</summary>
    public static IReadOnlyList<double> RecallThresholds { get; } = Linspace(0.0, 1.0, 101);

    /// <summary>Scores <paramref name="results"/> against <paramref name="groundTruth"/>.</summary>
    public CocoKeypointStats Evaluate(CocoKeypointGroundTruth groundTruth, IReadOnlyList<CocoKeypointResult> results)
    {
        ArgumentNullException.ThrowIfNull(groundTruth);
        ArgumentNullException.ThrowIfNull(results);
        var images = Prepare(groundTruth, results);

        int t = OksThresholds.Count, r = RecallThresholds.Count;
        var precision = new double[AreaRanges.Length][,];
        var recall = new double[AreaRanges.Length][];
        for (int a = 0; a < AreaRanges.Length; a++)
        {
            var evaluated = new List<ImageEvaluation>();
            foreach (var image in images)
                if (image.GroundTruth.Count > 0 || image.Detections.Count > 0)
                    evaluated.Add(EvaluateImage(image, AreaRanges[a]));
            (precision[a], recall[a]) = Accumulate(evaluated, t, r);
        }

        double Ap(int area, int? threshold) => MeanDefined(precision[area], threshold);
        double Ar(int area, int? threshold) => MeanDefined(recall[area], threshold);
        return new CocoKeypointStats(
            AP: Ap(All, null), AP50: Ap(All, 0), AP75: Ap(All, 5), APMedium: Ap(Medium, null), APLarge: Ap(Large, null),
            AR: Ar(All, null), AR50: Ar(All, 0), AR75: Ar(All, 5), ARMedium: Ar(Medium, null), ARLarge: Ar(Large, null));
    }

    private sealed record GroundTruthEntry(CocoKeypointAnnotation Annotation, bool Ignore);

    private sealed record DetectionEntry(CocoKeypointResult Result, double Area);

    private sealed class ImageData(long imageId)
    {
        public long ImageId { get; } = imageId;
        public List<GroundTruthEntry> GroundTruth { get; } = [];
        public List<DetectionEntry> Detections { get; set; } = [];
        /// <summary>OKS[detection, ground truth] in the stored orders; null when either side is empty.</summary>
        public double[,]? Oks { get; set; }
    }

    private sealed record ImageEvaluation(double[] Scores, bool[,] Matched, bool[,] Ignored, int RegularGroundTruth);

    private List<ImageData> Prepare(CocoKeypointGroundTruth groundTruth, IReadOnlyList<CocoKeypointResult> results)
    {
        int k = _sigmas.Length;
        var byId = new Dictionary<long, ImageData>();
        var images = new List<ImageData>();
        foreach (long id in groundTruth.ImageIds)
        {
            var data = new ImageData(id);
            byId.Add(id, data);
            images.Add(data);
        }

        for (int i = 0; i < groundTruth.Annotations.Count; i++)
        {
            var ann = groundTruth.Annotations[i];
            if (ann.CategoryId != CategoryId) continue;
            string where = $"ground-truth annotation {i} (id {ann.Id}, image {ann.ImageId})";
            if (ann.Keypoints is null || ann.Keypoints.Length != 3 * k)
                throw new ArgumentException($"{where}: keypoints must hold {3 * k} values for {k} sigmas, got {ann.Keypoints?.Length ?? 0}");
            if (ann.Bbox is null || ann.Bbox.Length != 4)
                throw new ArgumentException($"{where}: bbox must hold 4 values (x, y, w, h)");
            if (!byId.TryGetValue(ann.ImageId, out var image))
                throw new ArgumentException($"{where}: image {ann.ImageId} is not in the image list");
            image.GroundTruth.Add(new GroundTruthEntry(ann, ann.IsCrowd || ann.NumKeypoints == 0));
        }

        for (int i = 0; i < results.Count; i++)
        {
            var res = results[i];
            string where = $"result {i} (image {res.ImageId})";
            if (res.CategoryId != CategoryId)
                throw new ArgumentException($"{where}: category_id {res.CategoryId}, but this evaluator scores category {CategoryId}");
            if (res.Keypoints is null || res.Keypoints.Length != 3 * k)
                throw new ArgumentException($"{where}: keypoints must hold {3 * k} values for {k} sigmas, got {res.Keypoints?.Length ?? 0}");
            if (double.IsNaN(res.Score))
                throw new ArgumentException($"{where}: score is NaN");
            if (res.Bbox is not null && res.Bbox.Length != 4)
                throw new ArgumentException($"{where}: bbox must hold 4 values (x, y, w, h)");
            if (!byId.TryGetValue(res.ImageId, out var image))
                throw new ArgumentException($"{where}: image {res.ImageId} is not among the ground-truth images");
            image.Detections.Add(new DetectionEntry(res, DetectionArea(res)));
        }

        foreach (var image in images)
        {
            // Highest score first; OrderBy is stable, so equal scores keep their input order.
            image.Detections = image.Detections.OrderBy(d => -d.Result.Score).Take(MaxDetections).ToList();
            int dn = image.Detections.Count, gn = image.GroundTruth.Count;
            if (dn == 0 || gn == 0) continue;
            var oks = new double[dn, gn];
            for (int d = 0; d < dn; d++)
                for (int g = 0; g < gn; g++)
                {
                    var gt = image.GroundTruth[g].Annotation;
                    oks[d, g] = ObjectKeypointSimilarity.Compute(gt.Keypoints, gt.Area, gt.Bbox,
                        image.Detections[d].Result.Keypoints, _sigmas);
                }
            image.Oks = oks;
        }
        return images;
    }

    /// <summary>A result's own area: its box when it has one, else the extent of all its keypoints.</summary>
    private static double DetectionArea(CocoKeypointResult res)
    {
        if (res.Bbox is not null) return res.Bbox[2] * res.Bbox[3];
        double x0 = double.PositiveInfinity, x1 = double.NegativeInfinity;
        double y0 = double.PositiveInfinity, y1 = double.NegativeInfinity;
        for (int i = 0; i + 2 < res.Keypoints.Length; i += 3)
        {
            x0 = Math.Min(x0, res.Keypoints[i]); x1 = Math.Max(x1, res.Keypoints[i]);
            y0 = Math.Min(y0, res.Keypoints[i + 1]); y1 = Math.Max(y1, res.Keypoints[i + 1]);
        }
        return (x1 - x0) * (y1 - y0);
    }

    private static ImageEvaluation EvaluateImage(ImageData image, (double Lo, double Hi) range)
    {
        int gn = image.GroundTruth.Count, dn = image.Detections.Count, tn = OksThresholds.Count;

        // Regular ground truth first, ignored last, each group in input order.
        var order = Enumerable.Range(0, gn)
            .OrderBy(g => IgnoredIn(image.GroundTruth[g], range) ? 1 : 0)
            .ToArray();
        var ignore = order.Select(g => IgnoredIn(image.GroundTruth[g], range)).ToArray();
        var crowd = order.Select(g => image.GroundTruth[g].Annotation.IsCrowd).ToArray();
        var ids = order.Select(g => image.GroundTruth[g].Annotation.Id).ToArray();

        var matched = new bool[tn, dn];
        var ignored = new bool[tn, dn];
        if (image.Oks is { } oks)
        {
            for (int t = 0; t < tn; t++)
            {
                var taken = new bool[gn];
                for (int d = 0; d < dn; d++)
                {
                    double best = Math.Min(OksThresholds[t], 1 - 1e-10);
                    int m = -1;
                    for (int j = 0; j < gn; j++)
                    {
                        if (taken[j] && !crowd[j]) continue;
                        // Holding a regular match, never trade it for an ignored one.
                        if (m > -1 && !ignore[m] && ignore[j]) break;
                        double value = oks[d, order[j]];
                        if (value < best) continue;
                        best = value;
                        m = j;
                    }
                    if (m == -1) continue;
                    ignored[t, d] = ignore[m];
                    // COCOeval records the matched annotation id and later reads 0 as "no match".
                    matched[t, d] = ids[m] != 0;
                    taken[m] = true;
                }
            }
        }

        var scores = new double[dn];
        for (int d = 0; d < dn; d++)
        {
            scores[d] = image.Detections[d].Result.Score;
            double area = image.Detections[d].Area;
            bool outside = area < range.Lo || area > range.Hi;
            if (!outside) continue;
            for (int t = 0; t < tn; t++)
                if (!matched[t, d]) ignored[t, d] = true;
        }
        return new ImageEvaluation(scores, matched, ignored, ignore.Count(i => !i));
    }

    private static bool IgnoredIn(GroundTruthEntry gt, (double Lo, double Hi) range) =>
        gt.Ignore || gt.Annotation.Area < range.Lo || gt.Annotation.Area > range.Hi;

    private static (double[,] Precision, double[] Recall) Accumulate(List<ImageEvaluation> images, int tn, int rn)
    {
        var precision = new double[tn, rn];
        var recall = new double[tn];
        int regular = images.Sum(e => e.RegularGroundTruth);
        if (regular == 0)
        {
            for (int t = 0; t < tn; t++)
            {
                recall[t] = -1;
                for (int r = 0; r < rn; r++) precision[t, r] = -1;
            }
            return (precision, recall);
        }

        var all = new List<(double Score, ImageEvaluation Image, int Index)>();
        foreach (var e in images)
            for (int d = 0; d < e.Scores.Length; d++)
                all.Add((e.Scores[d], e, d));
        var sorted = all.OrderBy(x => -x.Score).ToArray();
        int n = sorted.Length;

        var rc = new double[n];
        var pr = new double[n];
        for (int t = 0; t < tn; t++)
        {
            double tp = 0, fp = 0;
            for (int i = 0; i < n; i++)
            {
                var (_, image, d) = sorted[i];
                if (!image.Ignored[t, d])
                {
                    if (image.Matched[t, d]) tp++;
                    else fp++;
                }
                rc[i] = tp / regular;
                pr[i] = tp / (fp + tp + ObjectKeypointSimilarity.Epsilon);
            }
            recall[t] = n > 0 ? rc[n - 1] : 0;

            // Monotone envelope: precision at recall r is the best precision at any recall >= r.
            for (int i = n - 1; i > 0; i--)
                if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];

            int cursor = 0;
            for (int r = 0; r < rn; r++)
            {
                double target = RecallThresholds[r];
                while (cursor < n && rc[cursor] < target) cursor++;
                // Recall levels never reached keep precision 0.
                precision[t, r] = cursor < n ? pr[cursor] : 0;
            }
        }
        return (precision, recall);
    }

    private static double MeanDefined(double[,] values, int? threshold)
    {
        double sum = 0;
        int count = 0;
        int t0 = threshold ?? 0, t1 = threshold ?? values.GetLength(0) - 1;
        for (int t = t0; t <= t1; t++)
            for (int r = 0; r < values.GetLength(1); r++)
                if (values[t, r] > -1) { sum += values[t, r]; count++; }
        return count == 0 ? -1 : sum / count;
    }

    private static double MeanDefined(double[] values, int? threshold)
    {
        double sum = 0;
        int count = 0;
        int t0 = threshold ?? 0, t1 = threshold ?? values.Length - 1;
        for (int t = t0; t <= t1; t++)
            if (values[t] > -1) { sum += values[t]; count++; }
        return count == 0 ? -1 : sum / count;
    }

    private static double[] Linspace(double start, double stop, int num)
    {
        // numpy: start + i * ((stop - start) / (num - 1)), with the last point set to stop exactly.
        var values = new double[num];
        double step = (stop - start) / (num - 1);
        for (int i = 0; i < num; i++) values[i] = i * step + start;
        values[num - 1] = stop;
        return values;
    }
}
