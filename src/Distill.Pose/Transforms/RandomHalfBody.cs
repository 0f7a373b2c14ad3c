namespace Distill.Pose.Transforms;

/// <summary>
/// mmpose's <c>RandomHalfBody</c>: with enough labelled keypoints, replaces the box by one around the labelled upper
/// or lower body keypoints (their mean as centre, their extent times the padding as scale).
/// </summary>
/// <remarks>
/// Eligible when the visibility sum reaches the minimum total; then, with the configured probability, the upper
/// half is kept when it has enough labelled keypoints and either the lower half has too few or a draw prefers the
/// upper half; otherwise the lower half when it has enough. Degenerate selections (all chosen keypoints on one
/// point) keep the original box, where mmpose would divide by zero later.
/// </remarks>
public static class RandomHalfBody
{
    /// <summary>Always draws twice; returns the ids used, or null when the box is unchanged.</summary>
    public static IReadOnlyList<int>? Apply(TopdownInstance instance, IReadOnlyList<int> upperBodyIds, IReadOnlyList<int> lowerBodyIds,
        TopdownAugmentation options, SampleRandom random)
    {
        ArgumentNullException.ThrowIfNull(instance);
        ArgumentNullException.ThrowIfNull(upperBodyIds);
        ArgumentNullException.ThrowIfNull(lowerBodyIds);
        ArgumentNullException.ThrowIfNull(options);
        bool apply = random.Chance(options.HalfBodyProb);
        bool preferUpper = random.Chance(options.HalfBodyUpperPrioritizedProb);
        if (!apply) return null;

        double total = 0;
        foreach (float v in instance.Visibility) total += v;
        if (total < options.HalfBodyMinTotalKeypoints) return null;

        var upper = Labelled(instance, upperBodyIds);
        var lower = Labelled(instance, lowerBodyIds);
        bool upperOk = upper.Count >= options.HalfBodyMinUpperKeypoints;
        bool lowerOk = lower.Count >= options.HalfBodyMinLowerKeypoints;
        List<int> chosen;
        if (!upperOk && !lowerOk) return null;
        if (!lowerOk) chosen = upper;
        else if (!upperOk) chosen = lower;
        else chosen = preferUpper ? upper : lower;

        double sx = 0, sy = 0, minX = double.MaxValue, minY = double.MaxValue, maxX = double.MinValue, maxY = double.MinValue;
        foreach (int i in chosen)
        {
            double x = instance.Keypoints[2 * i], y = instance.Keypoints[2 * i + 1];
            sx += x;
            sy += y;
            minX = Math.Min(minX, x);
            minY = Math.Min(minY, y);
            maxX = Math.Max(maxX, x);
            maxY = Math.Max(maxY, y);
        }
        var scale = ((maxX - minX) * options.HalfBodyPadding, (maxY - minY) * options.HalfBodyPadding);
        if (!(Math.Max(scale.Item1, scale.Item2) > 0)) return null;
        instance.Center = (sx / chosen.Count, sy / chosen.Count);
        instance.Scale = scale;
        return chosen;
    }

    private static List<int> Labelled(TopdownInstance instance, IReadOnlyList<int> ids)
    {
        var result = new List<int>(ids.Count);
        foreach (int i in ids)
        {
            if (i < 0 || i >= instance.NumKeypoints)
                throw new ArgumentException($"half-body keypoint id {i} is outside 0..{instance.NumKeypoints - 1}");
            if (instance.Visibility[i] > 0) result.Add(i);
        }
        return result;
    }
}
