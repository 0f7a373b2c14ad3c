namespace Distill.Pose.Transforms;

/// <summary>
/// mmpose's horizontal <c>RandomFlip</c>: mirrors the image (x -> w - 1 - x), the box centre and the keypoints, and
/// swaps left and right keypoints: keypoint i takes the values of keypoint <c>flipIndices[i]</c>.
/// </summary>
public static class RandomFlip
{
    /// <summary>Draws once and flips with probability <paramref name="prob"/>; returns whether it flipped.</summary>
    public static bool Apply(TopdownInstance instance, IReadOnlyList<int> flipIndices, double prob, SampleRandom random)
    {
        bool flip = random.Chance(prob);
        if (flip) Flip(instance, flipIndices);
        return flip;
    }

    public static void Flip(TopdownInstance instance, IReadOnlyList<int> flipIndices)
    {
        ArgumentNullException.ThrowIfNull(instance);
        CheckIndices(flipIndices, instance.NumKeypoints);
        int w = instance.ImageWidth, k = instance.NumKeypoints;
        var keypoints = new float[2 * k];
        var visibility = new float[k];
        var weights = new float[k];
        for (int i = 0; i < k; i++)
        {
            int j = flipIndices[i];
            keypoints[2 * i] = w - 1 - instance.Keypoints[2 * j];
            keypoints[2 * i + 1] = instance.Keypoints[2 * j + 1];
            visibility[i] = instance.Visibility[j];
            weights[i] = instance.KeypointWeights[j];
        }
        instance.Keypoints = keypoints;
        instance.Visibility = visibility;
        instance.KeypointWeights = weights;
        instance.Center = (w - 1 - instance.Center.X, instance.Center.Y);
        instance.Flipped = !instance.Flipped;
    }

    /// <summary>Flip indices must be a permutation of 0..K-1 that is its own inverse.</summary>
    public static void CheckIndices(IReadOnlyList<int> flipIndices, int numKeypoints)
    {
        ArgumentNullException.ThrowIfNull(flipIndices);
        if (flipIndices.Count != numKeypoints)
            throw new ArgumentException($"{flipIndices.Count} flip indices for {numKeypoints} keypoints", nameof(flipIndices));
        for (int i = 0; i < numKeypoints; i++)
        {
            int j = flipIndices[i];
            if (j < 0 || j >= numKeypoints) throw new ArgumentException($"flip index {j} at {i} is outside 0..{numKeypoints - 1}", nameof(flipIndices));
            if (flipIndices[j] != i) throw new ArgumentException($"flip indices are not symmetric: {i} -> {j} but {j} -> {flipIndices[j]}", nameof(flipIndices));
        }
    }
}
