namespace Distill.Pose.Evaluation;

/// <summary>
/// One array from a MAT-file. Numeric and logical arrays expose their values as doubles in MATLAB's column-major
/// order; char arrays their text; cell arrays their elements. Other classes (struct, sparse, objects) are listed
/// with their class but carry no data.
/// </summary>
public sealed class MatArray
{
    private readonly double[]? _real;
    private readonly double[]? _imaginary;
    private readonly string? _text;
    private readonly MatArray[]? _cells;

    internal MatArray(string name, MatClass matClass, int[] dimensions, bool isLogical,
        double[]? real = null, double[]? imaginary = null, string? text = null, MatArray[]? cells = null)
    {
        Name = name;
        Class = matClass;
        Dimensions = dimensions;
        IsLogical = isLogical;
        _real = real;
        _imaginary = imaginary;
        _text = text;
        _cells = cells;
    }

    public string Name { get; }

    public MatClass Class { get; }

    /// <summary>Dimensions as stored (MATLAB keeps at least two).</summary>
    public IReadOnlyList<int> Dimensions { get; }

    public bool IsLogical { get; }

    public bool IsNumeric => _real is not null;

    public bool IsComplex => _imaginary is not null;

    /// <summary>Number of elements (product of the dimensions).</summary>
    public long Count => Dimensions.Aggregate(1L, (a, d) => a * d);

    /// <summary>Real parts in column-major order, converted to double whatever the stored type.</summary>
    public ReadOnlySpan<double> Real => _real ?? throw WrongKind("numeric");

    /// <summary>Imaginary parts in column-major order.</summary>
    public ReadOnlySpan<double> Imaginary => _imaginary ?? throw new InvalidOperationException($"variable '{Name}' is not complex");

    /// <summary>Characters of a char array in column-major order (for a 1 x N array, the string itself).</summary>
    public string Text => _text ?? throw WrongKind("char");

    /// <summary>Elements of a cell array in column-major order.</summary>
    public IReadOnlyList<MatArray> Cells => _cells ?? throw WrongKind("cell");

    /// <summary>The real value at a (zero-based) subscript, column-major; missing trailing subscripts are 0.</summary>
    public double this[params int[] subscript] => Real[LinearIndex(subscript)];

    /// <summary>The rows of a char array as strings.</summary>
    public IReadOnlyList<string> Rows()
    {
        string text = Text;
        int rows = Dimensions.Count > 0 ? Dimensions[0] : 0;
        if (rows == 0) return [];
        int cols = (int)(Count / rows);
        var result = new string[rows];
        var chars = new char[cols];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < cols; c++) chars[c] = text[r + c * rows];
            result[r] = new string(chars);
        }
        return result;
    }

    /// <summary>Dimensions padded with trailing 1s to <paramref name="rank"/> (MATLAB drops trailing singletons).</summary>
    public int[] DimensionsAsRank(int rank)
    {
        if (Dimensions.Count > rank)
        {
            for (int i = rank; i < Dimensions.Count; i++)
                if (Dimensions[i] != 1)
                    throw new InvalidOperationException($"variable '{Name}' has {Dimensions.Count} dimensions ({string.Join(" x ", Dimensions)}), expected {rank}");
            return Dimensions.Take(rank).ToArray();
        }
        return Dimensions.Concat(Enumerable.Repeat(1, rank - Dimensions.Count)).ToArray();
    }

    private int LinearIndex(int[] subscript)
    {
        long index = 0, stride = 1;
        for (int d = 0; d < Math.Max(subscript.Length, Dimensions.Count); d++)
        {
            int size = d < Dimensions.Count ? Dimensions[d] : 1;
            int s = d < subscript.Length ? subscript[d] : 0;
            if (s < 0 || s >= size)
                throw new IndexOutOfRangeException($"variable '{Name}': subscript {s} out of range for dimension {d} of size {size}");
            index += s * stride;
            stride *= size;
        }
        return checked((int)index);
    }

    private InvalidOperationException WrongKind(string wanted) =>
        new($"variable '{Name}' is a {Class}{(IsComplex ? " (complex)" : "")} array, not a {wanted} array");
}
