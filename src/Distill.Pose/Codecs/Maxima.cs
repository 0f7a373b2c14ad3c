namespace Distill.Pose.Codecs;

/// <summary>Arg-max searches with numpy's conventions, which the decoders inherit from mmpose.</summary>
internal static class Maxima
{
    /// <summary>
    /// Index and value of the maximum: the first one on ties; a NaN wins at its first occurrence (numpy's
    /// argmax and amax treat NaN as the largest value).
    /// </summary>
    public static (int Index, float Value) ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        float bestValue = values[0];
        if (float.IsNaN(bestValue)) return (0, bestValue);
        for (int i = 1; i < values.Length; i++)
        {
            float v = values[i];
            if (float.IsNaN(v)) return (i, v);
            if (v > bestValue)
            {
                best = i;
                bestValue = v;
            }
        }
        return (best, bestValue);
    }

    /// <summary>
    /// mmpose's get_heatmap_maximum for one (H, W) plane: location (x, y) of the maximum, and (-1, -1) when the
    /// maximum is not positive.
    /// </summary>
    public static (float X, float Y, float Score) HeatmapMaximum(ReadOnlySpan<float> plane, int width)
    {
        var (index, value) = ArgMax(plane);
        if (value <= 0f) return (-1f, -1f, value);
        return (index % width, index / width, value);
    }
}
