namespace Distill.Torch.Serialization;

/// <summary>Disposes the tensors a loader handed to its caller.</summary>
public static class TensorDisposal
{
    /// <summary>Disposes every tensor of a state dict (or any name-to-tensor sequence).</summary>
    public static void DisposeTensors(this IEnumerable<KeyValuePair<string, Tensor>> tensors)
    {
        foreach (var (_, t) in tensors) t.Dispose();
    }

    /// <summary>
    /// Disposes every tensor reachable from an object tree returned by <see cref="PthFile.Load"/>: inside dicts,
    /// lists, tuples and placeholders' arguments, state and items. Shared and cyclic references are visited once.
    /// </summary>
    public static void DisposeTensors(object? tree)
    {
        var seen = new HashSet<object>(ReferenceEqualityComparer.Instance);
        var pending = new Stack<object?>();
        pending.Push(tree);
        while (pending.Count > 0)
        {
            var o = pending.Pop();
            if (o is null || o is string || o.GetType().IsValueType || !seen.Add(o)) continue;
            switch (o)
            {
                case Tensor t:
                    t.Dispose();
                    break;
                case PickleDict d:
                    foreach (var (k, v) in d) { pending.Push(k); pending.Push(v); }
                    pending.Push(d.Attributes);
                    break;
                case PickleObject p:
                    foreach (var a in p.Arguments) pending.Push(a);
                    foreach (var a in p.ListItems) pending.Push(a);
                    foreach (var (k, v) in p.DictItems) { pending.Push(k); pending.Push(v); }
                    pending.Push(p.State);
                    break;
                case IEnumerable<object?> items:
                    foreach (var a in items) pending.Push(a);
                    break;
            }
        }
    }
}
