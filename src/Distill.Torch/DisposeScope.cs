namespace Distill.Torch;

/// <summary>
/// Collects every tensor created on this thread while it is the innermost scope and disposes them with itself,
/// so a training step frees its temporaries deterministically. Tensors that must outlive the step (parameters,
/// optimizer state, results) are moved out with <see cref="Tensor.MoveToOuterDisposeScope"/> or
/// <see cref="Tensor.DetachFromDisposeScope"/>.
/// </summary>
public sealed class DisposeScope : IDisposable
{
    [ThreadStatic] private static DisposeScope? _current;

    private readonly List<Tensor> _tensors = new();
    private bool _disposed;

    internal DisposeScope? Parent { get; }

    private DisposeScope(DisposeScope? parent) => Parent = parent;

    public static DisposeScope? Current => _current;

    public static DisposeScope Enter()
    {
        var s = new DisposeScope(_current);
        _current = s;
        return s;
    }

    /// <summary>Tensors this scope will dispose (still alive and still owned by it).</summary>
    public int Count
    {
        get
        {
            int n = 0;
            foreach (var t in _tensors)
                if (ReferenceEquals(t.OwnerScope, this) && !t.IsDisposed) n++;
            return n;
        }
    }

    internal static void Register(Tensor t)
    {
        var s = _current;
        if (s is null) return;
        t.OwnerScope = s;
        s._tensors.Add(t);
    }

    internal void Adopt(Tensor t) => _tensors.Add(t);

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var t in _tensors)
            if (ReferenceEquals(t.OwnerScope, this)) t.Dispose();
        _tensors.Clear();
        // Scopes close in LIFO order on one thread; tolerate an out-of-order close by unwinding to the parent.
        if (ReferenceEquals(_current, this)) _current = Parent;
    }
}
