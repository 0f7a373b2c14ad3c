namespace Distill.Pose.Evaluation;

/// <summary>End-point error: the mean Euclidean distance between predicted and ground-truth visible keypoints.</summary>
public static class EndPointError
{
    /// <summary>Mean distance in input units over all visible keypoints of all instances; NaN when none is visible.</summary>
    /// <param name="predictions">Per instance, K x (x, y).</param>
    /// <param name="groundTruth">Per instance, K x (x, y).</param>
    /// <param name="visible">Per instance, K flags.</param>
    public static double Compute(IReadOnlyList<double[]> predictions, IReadOnlyList<double[]> groundTruth,
        IReadOnlyList<bool[]> visible)
    {
        int k = KeypointInputs.Check(predictions, groundTruth, visible);
        double sum = 0;
        int count = 0;
        for (int i = 0; i < predictions.Count; i++)
            for (int j = 0; j < k; j++)
            {
                if (!visible[i][j]) continue;
                sum += KeypointInputs.Distance(predictions[i], groundTruth[i], j);
                count++;
            }
        return count == 0 ? double.NaN : sum / count;
    }
}
