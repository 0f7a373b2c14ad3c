namespace Distill.Pose.Evaluation;

/// <summary>Shape checks shared by the distance-based metrics, with messages that name the instance.</summary>
internal static class KeypointInputs
{
    /// <summary>Checks per-instance (x, y) arrays and visibility flags; returns K.</summary>
    public static int Check(IReadOnlyList<double[]> predictions, IReadOnlyList<double[]> groundTruth,
        IReadOnlyList<bool[]> visible, int? expectedK = null)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        ArgumentNullException.ThrowIfNull(groundTruth);
        ArgumentNullException.ThrowIfNull(visible);
        int n = predictions.Count;
        if (groundTruth.Count != n || visible.Count != n)
            throw new ArgumentException(
                $"one prediction, ground truth and visibility array per instance is needed: {n} predictions, {groundTruth.Count} ground truths, {visible.Count} visibility arrays");
        int k = expectedK ?? (n > 0 ? (groundTruth[0]?.Length ?? 0) / 2 : 0);
        for (int i = 0; i < n; i++)
        {
            if (predictions[i] is null || predictions[i].Length != 2 * k)
                throw new ArgumentException($"instance {i}: prediction must hold {k} x (x, y) = {2 * k} values, got {predictions[i]?.Length ?? 0}");
            if (groundTruth[i] is null || groundTruth[i].Length != 2 * k)
                throw new ArgumentException($"instance {i}: ground truth must hold {k} x (x, y) = {2 * k} values, got {groundTruth[i]?.Length ?? 0}");
            if (visible[i] is null || visible[i].Length != k)
                throw new ArgumentException($"instance {i}: visibility must hold {k} flags, got {visible[i]?.Length ?? 0}");
        }
        return k;
    }

    public static void CheckNormalizers(IReadOnlyList<double> sizes, int n, string what)
    {
        ArgumentNullException.ThrowIfNull(sizes);
        if (sizes.Count != n) throw new ArgumentException($"one {what} per instance is needed: {n} instances, {sizes.Count} values");
        for (int i = 0; i < n; i++)
            if (!(sizes[i] > 0) || double.IsInfinity(sizes[i]))
                throw new ArgumentException($"instance {i}: {what} must be positive and finite, got {sizes[i]}");
    }

    public static double Distance(double[] a, double[] b, int j, double offset = 0)
    {
        double dx = a[2 * j] + offset - b[2 * j];
        double dy = a[2 * j + 1] + offset - b[2 * j + 1];
        return Math.Sqrt(dx * dx + dy * dy);
    }
}
