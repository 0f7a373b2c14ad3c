namespace Distill.Pose.Evaluation;

/// <summary>
/// MPII PCKh with mmpose's conventions: a visible joint is correct when its distance to the ground truth divided by
/// the head size (0.6 x the head-box diagonal) is within the threshold; groups and the mean as in mmpose's
/// MpiiPCKAccuracy.
/// </summary>
public static class MpiiPckh
{
    public const int JointCount = 16;

    /// <summary>Head size = this factor x head-box diagonal (MPII's SC_BIAS).</summary>
    public const double HeadSizeFactor = 0.6;

    /// <summary>
    /// Added to predictions before comparing. mmpose adds 1 because MPII's ground truth (the annotation JSON and
    /// mpii_gt_val.mat alike) is in MATLAB's 1-based pixel coordinates while predictions are 0-based. Distill's MPII
    /// reader keeps the joints as stored (1-based), like mmpose, so the default 1 reproduces mmpose's numbers; pass 0
    /// when predictions are already in the ground truth's frame.
    /// </summary>
    public const double DefaultPredictionOffset = 1.0;

    private const int Pelvis = 6, Thorax = 7;

    /// <summary>0.6 x the diagonal of the head box (x1, y1, x2, y2).</summary>
    public static double HeadSize(double x1, double y1, double x2, double y2) =>
        HeadSizeFactor * Math.Sqrt((x2 - x1) * (x2 - x1) + (y2 - y1) * (y2 - y1));

    /// <summary>Scores predictions against explicit ground truth.</summary>
    /// <param name="predictions">Per instance, 16 x (x, y), 0-based pixels.</param>
    /// <param name="groundTruth">Per instance, 16 x (x, y), in the ground truth's own frame.</param>
    /// <param name="visible">Per instance, 16 flags; only visible joints are scored.</param>
    /// <param name="headSizes">Per instance, the head size (see <see cref="HeadSize"/>).</param>
    /// <param name="threshold">Main threshold (0.5 for PCKh@0.5); PCKh@0.1 is always reported too.</param>
    /// <param name="predictionOffset">Added to both prediction coordinates; see <see cref="DefaultPredictionOffset"/>.</param>
    /// <param name="inclusive">true: correct when ratio &lt;= threshold (MPII's benchmark rule);
    /// false: ratio &lt; threshold (mmpose 1.x's MpiiPCKAccuracy). They differ only on exact ties.</param>
    public static MpiiPckhResult Evaluate(IReadOnlyList<double[]> predictions, IReadOnlyList<double[]> groundTruth,
        IReadOnlyList<bool[]> visible, IReadOnlyList<double> headSizes, double threshold = 0.5,
        double predictionOffset = DefaultPredictionOffset, bool inclusive = true)
    {
        KeypointInputs.Check(predictions, groundTruth, visible, JointCount);
        KeypointInputs.CheckNormalizers(headSizes, predictions.Count, "head size");

        var counts = new int[JointCount];
        var correct = new int[JointCount];
        var correctAt01 = new int[JointCount];
        for (int i = 0; i < predictions.Count; i++)
            for (int j = 0; j < JointCount; j++)
            {
                if (!visible[i][j]) continue;
                counts[j]++;
                double ratio = KeypointInputs.Distance(predictions[i], groundTruth[i], j, predictionOffset) / headSizes[i];
                if (Within(ratio, threshold, inclusive)) correct[j]++;
                if (Within(ratio, 0.1, inclusive)) correctAt01[j]++;
            }

        var perJoint = Ratios(correct, counts);
        var perJointAt01 = Ratios(correctAt01, counts);
        double Pair(int a, int b) => 0.5 * (perJoint[a] + perJoint[b]);
        return new MpiiPckhResult(
            threshold, perJoint, perJointAt01, counts,
            Head: perJoint[9], Shoulder: Pair(13, 12), Elbow: Pair(14, 11), Wrist: Pair(15, 10),
            Hip: Pair(3, 2), Knee: Pair(4, 1), Ankle: Pair(5, 0),
            Mean: WeightedMean(perJoint, counts), MeanAt01: WeightedMean(perJointAt01, counts));
    }

    /// <summary>Scores predictions against records read from mpii_gt_val.mat (visible = not missing).</summary>
    public static MpiiPckhResult Evaluate(IReadOnlyList<double[]> predictions, IReadOnlyList<MpiiGroundTruthRecord> groundTruth,
        double threshold = 0.5, double predictionOffset = DefaultPredictionOffset, bool inclusive = true)
    {
        ArgumentNullException.ThrowIfNull(groundTruth);
        return Evaluate(predictions,
            groundTruth.Select(r => r.Joints).ToArray(),
            groundTruth.Select(r => r.Missing.Select(m => !m).ToArray()).ToArray(),
            groundTruth.Select(r => r.HeadSize).ToArray(),
            threshold, predictionOffset, inclusive);
    }

    private static bool Within(double ratio, double threshold, bool inclusive) =>
        inclusive ? ratio <= threshold : ratio < threshold;

    private static double[] Ratios(int[] correct, int[] counts)
    {
        var result = new double[correct.Length];
        for (int j = 0; j < result.Length; j++)
            result[j] = counts[j] == 0 ? double.NaN : (double)correct[j] / counts[j];
        return result;
    }

    private static double WeightedMean(double[] perJoint, int[] counts)
    {
        // sum_j acc_j * count_j / sum_j count_j over the scored joints: the fraction of all their visible joints.
        double sum = 0;
        long total = 0;
        for (int j = 0; j < JointCount; j++)
        {
            if (j == Pelvis || j == Thorax || counts[j] == 0) continue;
            sum += perJoint[j] * counts[j];
            total += counts[j];
        }
        return total == 0 ? double.NaN : sum / total;
    }
}
