namespace Distill.Pose.Evaluation;

/// <summary>
/// Takes a prediction made in a unified keypoint set back to one source set (e.g. the 21-keypoint unified person
/// to COCO-17 for COCO AP, or to MPII-16 for PCKh), so each benchmark scores only its own keypoints in its own order.
/// </summary>
public static class KeypointProjection
{
    /// <summary>
    /// Source keypoint i receives unified keypoint <c>sourceIndexToUnified[i]</c>; each keypoint is
    /// <paramref name="valuesPerKeypoint"/> consecutive values (2 for (x, y), 3 for (x, y, score), 1 for scores).
    /// </summary>
    public static T[] Project<T>(ReadOnlySpan<T> unified, ReadOnlySpan<int> sourceIndexToUnified, int valuesPerKeypoint)
    {
        if (valuesPerKeypoint < 1)
            throw new ArgumentOutOfRangeException(nameof(valuesPerKeypoint), valuesPerKeypoint, "must be at least 1");
        if (unified.Length % valuesPerKeypoint != 0)
            throw new ArgumentException(
                $"a unified prediction of {unified.Length} values is not a whole number of {valuesPerKeypoint}-value keypoints");
        int unifiedCount = unified.Length / valuesPerKeypoint;
        var result = new T[sourceIndexToUnified.Length * valuesPerKeypoint];
        for (int i = 0; i < sourceIndexToUnified.Length; i++)
        {
            int u = sourceIndexToUnified[i];
            if (u < 0 || u >= unifiedCount)
                throw new ArgumentException($"source keypoint {i} maps to unified index {u}, outside 0..{unifiedCount - 1}");
            unified.Slice(u * valuesPerKeypoint, valuesPerKeypoint).CopyTo(result.AsSpan(i * valuesPerKeypoint));
        }
        return result;
    }

    /// <summary>
    /// Projects a COCO result made with the unified set to the source set (keypoints are (x, y, score) triples).
    /// </summary>
    public static CocoKeypointResult Project(CocoKeypointResult unified, ReadOnlySpan<int> sourceIndexToUnified)
    {
        ArgumentNullException.ThrowIfNull(unified);
        return unified with { Keypoints = Project<double>(unified.Keypoints, sourceIndexToUnified, 3) };
    }
}
