namespace Distill.Pose.Codecs;

/// <summary>Argument validation shared by the codecs, so every codec reports bad input the same way.</summary>
internal static class CodecChecks
{
    /// <summary>Checks the K (x, y) pairs against K visibilities and returns K.</summary>
    public static int KeypointCount(string codec, ReadOnlySpan<float> keypoints, ReadOnlySpan<float> visibility)
    {
        if (keypoints.Length != 2 * visibility.Length)
            throw new ArgumentException(
                $"{codec}.Encode: keypoints holds {keypoints.Length} values but visibility has {visibility.Length} entries; expected 2 x {visibility.Length} (x, y pairs)",
                nameof(keypoints));
        for (int k = 0; k < visibility.Length; k++)
        {
            if (float.IsNaN(visibility[k]))
                throw new ArgumentException($"{codec}.Encode: visibility of keypoint {k} is NaN", nameof(visibility));
            // Unlabelled keypoints may carry any placeholder coordinates; labelled ones must be real numbers.
            if (visibility[k] >= 0.5f && !(float.IsFinite(keypoints[2 * k]) && float.IsFinite(keypoints[2 * k + 1])))
                throw new ArgumentException(
                    $"{codec}.Encode: keypoint {k} is labelled (visibility {visibility[k]}) but its coordinates ({keypoints[2 * k]}, {keypoints[2 * k + 1]}) are not finite",
                    nameof(keypoints));
        }
        return visibility.Length;
    }

    /// <summary>
    /// Returns (N, K, inner...) of a batched output, accepting an unbatched one (K, inner...) as N = 1.
    /// </summary>
    public static (int N, int K) BatchShape(string codec, string what, ShapedArray output, int innerRank)
    {
        ArgumentNullException.ThrowIfNull(output, what);
        if (output.Rank == innerRank + 2) return (output.Shape[0], output.Shape[1]);
        if (output.Rank == innerRank + 1) return (1, output.Shape[0]);
        throw new ArgumentException(
            $"{codec}.Decode: {what} has shape [{string.Join(", ", output.Shape)}]; expected rank {innerRank + 2} (N, K, ...) or {innerRank + 1} (K, ...)");
    }

    public static void OutputCount<T>(string codec, IReadOnlyList<T> outputs, int expected, string names)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        if (outputs.Count != expected)
            throw new ArgumentException($"{codec} expects {expected} output(s) ({names}), got {outputs.Count}", nameof(outputs));
    }

    /// <summary>Checks that <paramref name="flipIndices"/> is a permutation-like map of K channels.</summary>
    public static void FlipIndices(string codec, IReadOnlyList<int> flipIndices, int channels)
    {
        ArgumentNullException.ThrowIfNull(flipIndices);
        if (flipIndices.Count != channels)
            throw new ArgumentException($"{codec}.FlipBack: {flipIndices.Count} flip indices for {channels} keypoint channels", nameof(flipIndices));
        for (int i = 0; i < flipIndices.Count; i++)
            if ((uint)flipIndices[i] >= (uint)channels)
                throw new ArgumentException($"{codec}.FlipBack: flip index {flipIndices[i]} at position {i} is outside 0..{channels - 1}", nameof(flipIndices));
    }
}
