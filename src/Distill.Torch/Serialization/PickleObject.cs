namespace Distill.Torch.Serialization;

/// <summary>
/// The inert result of calling or instantiating a <see cref="PickleGlobal"/> (REDUCE, NEWOBJ), or of a tensor whose
/// storage kind Distill cannot represent. The pickle's arguments, BUILD state and appended items are kept as data so
/// a caller can inspect them; no Python code is ever run.
/// </summary>
public sealed class PickleObject
{
    internal PickleObject(object callable, IReadOnlyList<object?> arguments)
    {
        Callable = callable;
        Arguments = arguments;
    }

    /// <summary>What the pickle called: usually a <see cref="PickleGlobal"/>, possibly another placeholder.</summary>
    public object Callable { get; }

    public IReadOnlyList<object?> Arguments { get; }

    /// <summary>The state passed by BUILD (often the instance's <c>__dict__</c>), or null.</summary>
    public object? State { get; internal set; }

    /// <summary>Items added with APPEND/APPENDS (list subclasses).</summary>
    public List<object?> ListItems { get; } = new();

    /// <summary>Items added with SETITEM/SETITEMS (dict subclasses), in order.</summary>
    public List<KeyValuePair<object, object?>> DictItems { get; } = new();

    public override string ToString() => $"<placeholder {Callable}(...)>";
}
