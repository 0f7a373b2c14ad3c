using Distill.Torch;

namespace Distill.Pose.Models.Checkpoints;

/// <summary>
/// A state dict renamed to mmpose names. Every tensor in <see cref="StateDict"/> is a new handle owned by this result
/// and by no dispose scope (renamed entries share storage with the input, converted ones are fresh); disposing the
/// result frees them and leaves the input untouched.
/// </summary>
public sealed class KeyMapResult : IDisposable
{
    internal KeyMapResult(CheckpointLayout layout, OrderedDictionary<string, Tensor> stateDict,
        IReadOnlyDictionary<string, IReadOnlyList<string>> sources, IReadOnlyList<string> unusedKeys, IReadOnlyList<string> notes)
    {
        Layout = layout;
        StateDict = stateDict;
        Sources = sources;
        UnusedKeys = unusedKeys;
        Notes = notes;
    }

    /// <summary>The layout the input was read as.</summary>
    public CheckpointLayout Layout { get; }

    /// <summary>Tensors under mmpose names, in the input's order (fused entries where their first part was).</summary>
    public OrderedDictionary<string, Tensor> StateDict { get; }

    /// <summary>For each output name, the input key(s) it was made from.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Sources { get; }

    /// <summary>
    /// Input keys known to have no counterpart in the model (a classifier, a pooler, a cls token). Keys no rule
    /// covers are not listed here: they keep their names in <see cref="StateDict"/>, so loading reports them.
    /// </summary>
    public IReadOnlyList<string> UnusedKeys { get; }

    /// <summary>What the conversion changed beyond renaming (position embeddings, fused projections, norms).</summary>
    public IReadOnlyList<string> Notes { get; }

    public void Dispose()
    {
        foreach (var t in StateDict.Values) t.Dispose();
        StateDict.Clear();
    }
}
