using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace Distill.Pose.Codecs;

/// <summary>
/// The training target of one instance: named arrays such as <see cref="TargetNames.Heatmaps"/> and
/// <see cref="TargetNames.KeypointWeights"/>, without the batch dimension.
/// </summary>
public sealed class EncodedTarget : IReadOnlyDictionary<string, ShapedArray>
{
    private readonly Dictionary<string, ShapedArray> _arrays;

    public EncodedTarget(IEnumerable<KeyValuePair<string, ShapedArray>> arrays)
    {
        _arrays = new Dictionary<string, ShapedArray>(StringComparer.Ordinal);
        foreach (var (name, array) in arrays)
        {
            ArgumentNullException.ThrowIfNull(array, name);
            if (!_arrays.TryAdd(name, array)) throw new ArgumentException($"duplicate target name '{name}'", nameof(arrays));
        }
    }

    public ShapedArray this[string key] => _arrays.TryGetValue(key, out var a)
        ? a
        : throw new KeyNotFoundException($"no target named '{key}' (have: {string.Join(", ", _arrays.Keys)})");

    /// <summary>The per-keypoint loss weights, present in every codec's target.</summary>
    public ShapedArray KeypointWeights => this[TargetNames.KeypointWeights];

    public IEnumerable<string> Keys => _arrays.Keys;

    public IEnumerable<ShapedArray> Values => _arrays.Values;

    public int Count => _arrays.Count;

    public bool ContainsKey(string key) => _arrays.ContainsKey(key);

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out ShapedArray value) => _arrays.TryGetValue(key, out value);

    public IEnumerator<KeyValuePair<string, ShapedArray>> GetEnumerator() => _arrays.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
