namespace Distill.Pose.Keypoints;

/// <summary>
/// How the keypoints of one set land in another, matched by NAME: adding a set needs only its file.
/// Target joints the source does not annotate are carried with visibility 0 and weight 0, so losses ignore them.
/// </summary>
public sealed class KeypointMapping
{
    private readonly int[] _targetOfSource;
    private readonly int[] _sourceOfTarget;

    public KeypointSet Source { get; }
    public KeypointSet Target { get; }

    /// <summary>For each source index, its index in the target set, or -1 when the target lacks it.</summary>
    public int[] TargetIndexOfSource => (int[])_targetOfSource.Clone();

    /// <summary>For each target index, the source index it comes from, or -1 when the source lacks it.</summary>
    public int[] SourceIndexOfTarget => (int[])_sourceOfTarget.Clone();

    /// <summary>Number of keypoints present in both sets.</summary>
    public int SharedCount { get; }

    /// <summary>True when both sets list the same names in the same order.</summary>
    public bool IsIdentity { get; }

    private KeypointMapping(KeypointSet source, KeypointSet target)
    {
        Source = source;
        Target = target;
        _targetOfSource = new int[source.Count];
        _sourceOfTarget = new int[target.Count];
        Array.Fill(_sourceOfTarget, -1);
        for (int s = 0; s < source.Count; s++)
        {
            int t = target.IndexOf(source.Names[s]);
            _targetOfSource[s] = t;
            if (t >= 0)
            {
                _sourceOfTarget[t] = s;
                SharedCount++;
            }
        }
        IsIdentity = source.Count == target.Count && SharedCount == source.Count
                     && _targetOfSource.Select((t, s) => t == s).All(x => x);
    }

    public static KeypointMapping Between(KeypointSet source, KeypointSet target)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(target);
        return new KeypointMapping(source, target);
    }

    /// <summary>
    /// Converts one instance. <paramref name="keypoints"/> is (x, y) per source keypoint (length 2 K_s) and
    /// <paramref name="visibility"/> has K_s entries; <paramref name="weights"/>, when given, are per-source-keypoint
    /// loss weights carried over. Target joints the source lacks get (0, 0), visibility 0 and weight 0.
    /// </summary>
    public (float[] Keypoints, float[] Visibility, float[] Weights) Convert(
        ReadOnlySpan<float> keypoints, ReadOnlySpan<float> visibility, ReadOnlySpan<float> weights = default)
    {
        var xy = new float[Target.Count * 2];
        var vis = new float[Target.Count];
        var w = new float[Target.Count];
        Convert(keypoints, visibility, weights, xy, vis, w);
        return (xy, vis, w);
    }

    /// <summary>Allocation-free form of <see cref="Convert(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float})"/>.</summary>
    public void Convert(ReadOnlySpan<float> keypoints, ReadOnlySpan<float> visibility, ReadOnlySpan<float> weights,
                        Span<float> targetKeypoints, Span<float> targetVisibility, Span<float> targetWeights)
    {
        int ks = Source.Count, kt = Target.Count;
        if (keypoints.Length != 2 * ks) throw new ArgumentException($"{Source.Name} keypoints need {2 * ks} values, got {keypoints.Length}", nameof(keypoints));
        if (visibility.Length != ks) throw new ArgumentException($"{Source.Name} visibility needs {ks} values, got {visibility.Length}", nameof(visibility));
        if (!weights.IsEmpty && weights.Length != ks) throw new ArgumentException($"{Source.Name} weights need {ks} values, got {weights.Length}", nameof(weights));
        if (targetKeypoints.Length != 2 * kt || targetVisibility.Length != kt || targetWeights.Length != kt)
            throw new ArgumentException($"target buffers must hold {kt} keypoints of {Target.Name}");

        for (int t = 0; t < kt; t++)
        {
            int s = _sourceOfTarget[t];
            if (s < 0)
            {
                targetKeypoints[2 * t] = 0;
                targetKeypoints[2 * t + 1] = 0;
                targetVisibility[t] = 0;
                targetWeights[t] = 0;
                continue;
            }
            targetKeypoints[2 * t] = keypoints[2 * s];
            targetKeypoints[2 * t + 1] = keypoints[2 * s + 1];
            targetVisibility[t] = visibility[s];
            targetWeights[t] = weights.IsEmpty ? 1f : weights[s];
        }
    }
}
