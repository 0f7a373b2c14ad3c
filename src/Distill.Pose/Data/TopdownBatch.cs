using Distill.Pose.Codecs;
using Distill.Pose.Transforms;
using Distill.Torch;

namespace Distill.Pose.Data;

/// <summary>
/// A collated top-down batch. <see cref="Tensors"/> holds <c>"input"</c> (B, 3, H, W) float32, every codec target
/// stacked along a new first dimension (e.g. <c>"keypoint_x_labels"</c> (B, K, Wx)), <c>"keypoint_weights"</c> (B, K)
/// already multiplied by the samples' own keypoint weights, <c>"keypoints"</c> (B, K, 2) in crop pixels and
/// <c>"keypoints_visible"</c> (B, K). The batch owns its tensors: dispose it.
/// </summary>
public sealed class TopdownBatch : IDisposable
{
    public const string InputName = "input";
    public const string KeypointsName = "keypoints";
    public const string VisibilityName = "keypoints_visible";

    private readonly Dictionary<string, Tensor> _tensors;

    public TopdownBatch(Dictionary<string, Tensor> tensors, IReadOnlyList<Tensor> teacherInputs, IReadOnlyList<TopdownSampleInfo> samples)
    {
        _tensors = tensors;
        TeacherInputs = teacherInputs;
        Samples = samples;
    }

    public IReadOnlyDictionary<string, Tensor> Tensors => _tensors;

    public Tensor Input => this[InputName];

    /// <summary>Codec weights times the samples' keypoint weights, (B, K).</summary>
    public Tensor KeypointWeights => this[TargetNames.KeypointWeights];

    public Tensor this[string name] => _tensors.TryGetValue(name, out var t)
        ? t
        : throw new KeyNotFoundException($"batch has no tensor '{name}' (have: {string.Join(", ", _tensors.Keys)})");

    /// <summary>One (B, 3, Ht, Wt) tensor per configured teacher input size, in order.</summary>
    public IReadOnlyList<Tensor> TeacherInputs { get; }

    public IReadOnlyList<TopdownSampleInfo> Samples { get; }

    public int Count => Samples.Count;

    public IEnumerable<CropGeometry> Geometries => Samples.Select(s => s.Geometry);

    public void Dispose()
    {
        foreach (var t in _tensors.Values) t.Dispose();
        foreach (var t in TeacherInputs) t.Dispose();
    }
}
