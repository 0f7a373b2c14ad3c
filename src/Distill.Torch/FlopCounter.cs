namespace Distill.Torch;

/// <summary>
/// Counts multiply-accumulates of the matrix-heavy ops (conv, transposed conv, linear, matmul) run on this thread
/// while a counter is open. Like the usual pose-model tables, one MAC counts as one FLOP.
/// </summary>
public sealed class FlopCounter : IDisposable
{
    [ThreadStatic] private static FlopCounter? _current;

    private readonly FlopCounter? _outer;

    public long Macs { get; private set; }

    private FlopCounter(FlopCounter? outer) => _outer = outer;

    public static FlopCounter Start()
    {
        var c = new FlopCounter(_current);
        _current = c;
        return c;
    }

    internal static bool Active => _current is not null;

    internal static void Add(long macs)
    {
        for (var c = _current; c is not null; c = c._outer) c.Macs += macs;
    }

    public void Dispose()
    {
        if (ReferenceEquals(_current, this)) _current = _outer;
    }
}
