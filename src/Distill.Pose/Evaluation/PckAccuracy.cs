namespace Distill.Pose.Evaluation;

/// <summary>
/// PCK@alpha: a visible keypoint is correct when its distance to the ground truth, divided by a per-instance size,
/// is below alpha. With <see cref="ComputeWithBoxes"/> the size is max(w, h) of the ground-truth box, as mmpose's
/// PCKAccuracy with norm_item 'bbox'. Works for any keypoint set.
/// </summary>
public static class PckAccuracy
{
    /// <summary>mmpose's default alpha for PCKAccuracy.</summary>
    public const double DefaultAlpha = 0.05;

    /// <summary>PCK normalised by explicit per-instance sizes.</summary>
    /// <param name="predictions">Per instance, K x (x, y).</param>
    /// <param name="groundTruth">Per instance, K x (x, y).</param>
    /// <param name="visible">Per instance, K flags; only visible keypoints are scored.</param>
    /// <param name="sizes">Per instance, the normalising length (positive).</param>
    /// <param name="alpha">Threshold on distance / size.</param>
    /// <param name="inclusive">false (mmpose): correct when ratio &lt; alpha; true: when ratio &lt;= alpha.</param>
    public static PckResult Compute(IReadOnlyList<double[]> predictions, IReadOnlyList<double[]> groundTruth,
        IReadOnlyList<bool[]> visible, IReadOnlyList<double> sizes, double alpha = DefaultAlpha, bool inclusive = false)
    {
        int k = KeypointInputs.Check(predictions, groundTruth, visible);
        KeypointInputs.CheckNormalizers(sizes, predictions.Count, "normalising size");
        var correct = new int[k];
        var counts = new int[k];
        for (int i = 0; i < predictions.Count; i++)
            for (int j = 0; j < k; j++)
            {
                if (!visible[i][j]) continue;
                counts[j]++;
                double ratio = KeypointInputs.Distance(predictions[i], groundTruth[i], j) / sizes[i];
                if (inclusive ? ratio <= alpha : ratio < alpha) correct[j]++;
            }

        var perKeypoint = new double[k];
        double sum = 0;
        int defined = 0;
        for (int j = 0; j < k; j++)
        {
            perKeypoint[j] = counts[j] == 0 ? double.NaN : (double)correct[j] / counts[j];
            if (counts[j] > 0) { sum += perKeypoint[j]; defined++; }
        }
        return new PckResult(perKeypoint, counts, defined == 0 ? double.NaN : sum / defined);
    }

    /// <summary>PCK normalised by max(w, h) of each ground-truth box given as (x1, y1, x2, y2).</summary>
    public static PckResult ComputeWithBoxes(IReadOnlyList<double[]> predictions, IReadOnlyList<double[]> groundTruth,
        IReadOnlyList<bool[]> visible, IReadOnlyList<double[]> boxesXyxy, double alpha = DefaultAlpha, bool inclusive = false)
    {
        ArgumentNullException.ThrowIfNull(boxesXyxy);
        var sizes = new double[boxesXyxy.Count];
        for (int i = 0; i < sizes.Length; i++)
        {
            var box = boxesXyxy[i];
            if (box is null || box.Length != 4)
                throw new ArgumentException($"instance {i}: box must hold (x1, y1, x2, y2), got {box?.Length ?? 0} values");
            sizes[i] = BoxSize(box);
        }
        return Compute(predictions, groundTruth, visible, sizes, alpha, inclusive);
    }

    /// <summary>max(x2 - x1, y2 - y1).</summary>
    public static double BoxSize(ReadOnlySpan<double> xyxy) => Math.Max(xyxy[2] - xyxy[0], xyxy[3] - xyxy[1]);
}
