using Distill.Pose.Keypoints;

namespace Distill.Pose.Datasets;

/// <summary>
/// Several datasets seen as one, every instance converted to one target keypoint set by keypoint NAME. Joints a
/// source does not annotate get visibility 0 and <see cref="PoseInstance.KeypointWeights"/> 0 (e.g. the eyes of
/// an MPII person in the unified set), so losses ignore them instead of learning "absent".
/// Indices run over the sources in order (source 0 first); <see cref="RatioEpochSampler"/> draws epochs from them.
/// </summary>
public sealed class CombinedDataset : PoseDataset
{
    private readonly CombinedSource[] _sources;
    private readonly KeypointMapping[] _mappings;
    private readonly int[] _offsets;

    public override string Name { get; }
    public override KeypointSet KeypointSet { get; }
    public override int Count { get; }
    public override IReadOnlyList<ImageInfo> Images { get; }
    public override LoadReport Report { get; }

    public IReadOnlyList<CombinedSource> Sources => _sources;

    /// <summary>Source-to-target keypoint mapping of each source.</summary>
    public IReadOnlyList<KeypointMapping> Mappings => _mappings;

    public CombinedDataset(KeypointSet target, IEnumerable<CombinedSource> sources, string name = "combined")
    {
        ArgumentNullException.ThrowIfNull(target);
        _sources = sources.ToArray();
        if (_sources.Length == 0) throw new ArgumentException("a combined dataset needs at least one source", nameof(sources));
        for (int i = 0; i < _sources.Length; i++)
        {
            double ratio = _sources[i].Ratio;
            if (!double.IsFinite(ratio) || ratio < 0)
                throw new ArgumentException($"source {i} ({_sources[i].Dataset.Name}): ratio must be finite and >= 0, got {ratio}", nameof(sources));
        }
        Name = name;
        KeypointSet = target;
        _mappings = _sources.Select(s => KeypointMapping.Between(s.Dataset.KeypointSet, target)).ToArray();
        for (int i = 0; i < _sources.Length; i++)
            if (_mappings[i].SharedCount == 0)
                throw new ArgumentException($"source {i} ({_sources[i].Dataset.Name}): keypoint set {_sources[i].Dataset.KeypointSet.Name} shares no keypoint name with {target.Name}");
        _offsets = new int[_sources.Length + 1];
        for (int i = 0; i < _sources.Length; i++)
            _offsets[i + 1] = checked(_offsets[i] + _sources[i].Dataset.Count);
        Count = _offsets[^1];
        // Image ids are only unique within a source; SourceName on each instance tells them apart.
        Images = _sources.SelectMany(s => s.Dataset.Images).ToList();
        Report = LoadReport.Merge(name, _sources.Select(s => s.Dataset.Report));
    }

    /// <summary>Index of the first instance of source <paramref name="source"/>.</summary>
    public int Offset(int source) => _offsets[source];

    /// <summary>The source and the index inside it of a combined index.</summary>
    public (int Source, int Index) Locate(int index)
    {
        if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index), $"index {index} outside 0..{Count - 1}");
        int s = Array.BinarySearch(_offsets, index);
        s = s >= 0 ? s : ~s - 1;
        while (_offsets[s + 1] == index) s++; // skip empty sources sharing this offset
        return (s, index - _offsets[s]);
    }

    public override PoseInstance this[int index]
    {
        get
        {
            var (s, local) = Locate(index);
            var instance = _sources[s].Dataset[local];
            var mapping = _mappings[s];
            if (mapping.IsIdentity) return instance;
            var (keypoints, visibility, weights) = mapping.Convert(instance.Keypoints, instance.Visibility, instance.KeypointWeights);
            int labelled = visibility.Count(v => v > 0);
            return instance with { Keypoints = keypoints, Visibility = visibility, KeypointWeights = weights, NumKeypoints = labelled };
        }
    }

    public override IReadOnlyList<string> ValidateImages() =>
        _sources.SelectMany(s => s.Dataset.ValidateImages()).Distinct(StringComparer.Ordinal).ToList();
}
