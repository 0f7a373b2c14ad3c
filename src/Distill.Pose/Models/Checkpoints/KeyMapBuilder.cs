using Distill.Torch;
using Distill.Torch.Serialization;

namespace Distill.Pose.Models.Checkpoints;

/// <summary>Collects converted tensors, refuses two inputs landing on one name, and cleans up on failure.</summary>
internal sealed class KeyMapBuilder(string source) : IDisposable
{
    private readonly OrderedDictionary<string, Tensor> _tensors = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IReadOnlyList<string>> _sources = new(StringComparer.Ordinal);
    private readonly List<string> _unused = new();
    private readonly List<string> _notes = new();
    private bool _built;

    public string Source { get; } = source;

    /// <summary>Takes ownership of <paramref name="tensor"/> under <paramref name="name"/>.</summary>
    public void Add(string name, Tensor tensor, params string[] from)
    {
        if (_sources.TryGetValue(name, out var earlier))
        {
            tensor.Dispose();
            throw new CheckpointFormatException(Source,
                $"'{string.Join("', '", earlier)}' and '{string.Join("', '", from)}' both map to '{name}'");
        }
        tensor.DetachFromDisposeScope();
        _tensors.Add(name, tensor);
        _sources.Add(name, from);
    }

    public void Unused(string key) => _unused.Add(key);

    public void Note(string note) => _notes.Add(note);

    /// <summary>Hands the tensors (kept out of every dispose scope) to a result, which then owns them.</summary>
    public KeyMapResult Build(CheckpointLayout layout)
    {
        _built = true;
        return new KeyMapResult(layout, _tensors, _sources, _unused, _notes);
    }

    public void Dispose()
    {
        if (_built) return;
        foreach (var t in _tensors.Values) t.Dispose();
        _tensors.Clear();
    }
}
