namespace Distill.Onnx.Graph;

/// <summary>One dimension of a declared graph input or output: a fixed size, a named symbol, or unknown.</summary>
public readonly record struct OnnxDim
{
    public long? Value { get; }
    public string? Symbol { get; }

    private OnnxDim(long? value, string? symbol)
    {
        Value = value;
        Symbol = symbol;
    }

    public static OnnxDim Of(long value) =>
        value >= 0 ? new(value, null) : throw new ArgumentOutOfRangeException(nameof(value), value, "a dimension cannot be negative");

    public static OnnxDim Named(string symbol) =>
        string.IsNullOrWhiteSpace(symbol) ? throw new ArgumentException("a symbolic dimension needs a name", nameof(symbol)) : new(null, symbol);

    /// <summary>A dimension whose size the graph does not declare.</summary>
    public static OnnxDim Unknown => default;

    public static implicit operator OnnxDim(long value) => Of(value);

    public static implicit operator OnnxDim(string symbol) => Named(symbol);

    public override string ToString() => Value?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? Symbol ?? "?";
}
