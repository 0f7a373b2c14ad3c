using System.Text.Json.Nodes;

namespace Distill.Torch.Optim;

/// <summary>
/// An optimizer's state in two serialisable halves: named tensors (<c>state.{paramIndex}.{name}</c>, e.g.
/// <c>state.3.exp_avg</c>), suited to safetensors, and JSON metadata mirroring PyTorch's <c>state_dict()</c>
/// without the tensors: <c>type</c>, <c>param_groups</c> (parameter indices and hyper-parameters) and
/// <c>state</c> (per-parameter step counts). It owns its tensors.
/// </summary>
public sealed class OptimizerStateDict : IDisposable
{
    public OptimizerStateDict(JsonObject metadata, IReadOnlyDictionary<string, Tensor> tensors)
    {
        Metadata = metadata ?? throw new ArgumentNullException(nameof(metadata));
        Tensors = tensors ?? throw new ArgumentNullException(nameof(tensors));
    }

    public JsonObject Metadata { get; }

    public IReadOnlyDictionary<string, Tensor> Tensors { get; }

    public void Dispose()
    {
        foreach (var t in Tensors.Values) t.Dispose();
    }
}
