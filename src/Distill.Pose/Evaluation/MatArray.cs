namespace Distill.Pose.Evaluation;

/// <summary>
/// One array from a MAT-file. Numeric and logical arrays expose their values as doubles in MATLAB's column-major
/// order; char arrays their text; cell arrays their elements; struct and object arrays their fields, per element.
/// Sparse arrays are listed with their class but carry no data.
/// </summary>
public sealed class MatArray
{
    private readonly double[]? _real;
    private readonly double[]? _imaginary;
    private readonly string? _text;
    private readonly MatArray[]? _cells;
    private readonly string[]? _fieldNames;
    private readonly MatArray[]? _fieldValues;

    internal MatArray(string name, MatClass matClass, int[] dimensions, bool isLogical,
        double[]? real = null, double[]? imaginary = null, string? text = null, MatArray[]? cells = null,
        string path = "", string source = "", string[]? fieldNames = null, MatArray[]? fieldValues = null,
        string? className = null)
    {
        Name = name;
        Class = matClass;
        Dimensions = dimensions;
        IsLogical = isLogical;
        _real = real;
        _imaginary = imaginary;
        _text = text;
        _cells = cells;
        Path = path.Length > 0 ? path : name;
        Source = source;
        _fieldNames = fieldNames;
        _fieldValues = fieldValues;
        ClassName = className;
    }

    public string Name { get; }

    /// <summary>
    /// Where the array sits in its file, MATLAB style with 1-based subscripts: <c>RELEASE.annolist(3).annorect(1).x1</c>
    /// for a struct field, <c>names{2}</c> for a cell; a top-level variable's path is its name.
    /// </summary>
    public string Path { get; }

    /// <summary>The file the array was read from (used in error messages).</summary>
    public string Source { get; }

    /// <summary>The class name of an object array (MATLAB's class), null otherwise.</summary>
    public string? ClassName { get; }

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
    public ReadOnlySpan<double> Imaginary => _imaginary ?? throw new InvalidOperationException($"{Where} is not complex");

    /// <summary>Characters of a char array in column-major order (for a 1 x N array, the string itself).</summary>
    public string Text => _text ?? throw WrongKind("char");

    /// <summary>Elements of a cell array in column-major order.</summary>
    public IReadOnlyList<MatArray> Cells => _cells ?? throw WrongKind("cell");

    /// <summary>Whether this is a struct (or object) array; its elements share <see cref="FieldNames"/>.</summary>
    public bool IsStruct => _fieldNames is not null;

    /// <summary>True when the array has no elements (MATLAB's <c>[]</c>, an empty string, cell or struct array).</summary>
    public bool IsEmpty => Count == 0;

    /// <summary>Field names of a struct array, in file order.</summary>
    public IReadOnlyList<string> FieldNames => _fieldNames ?? throw WrongKind("struct");

    public bool HasField(string name) => _fieldNames is not null && Array.IndexOf(_fieldNames, name) >= 0;

    /// <summary>
    /// The value of field <paramref name="name"/> in element <paramref name="index"/> (zero-based, column-major) of a
    /// struct array. A missing field or an index past the end is an error naming the file and the path.
    /// </summary>
    public MatArray Field(string name, int index = 0)
    {
        var names = _fieldNames ?? throw WrongKind("struct");
        int f = Array.IndexOf(names, name);
        if (f < 0)
            throw new KeyNotFoundException(
                $"{Where}: no field '{name}' (fields: {(names.Length == 0 ? "none" : string.Join(", ", names))})");
        if (index < 0 || index >= Count)
            throw new IndexOutOfRangeException($"{Where}: element {index + 1} requested of a struct array with {Count}");
        return _fieldValues![index * names.Length + f];
    }

    /// <summary>The field when present, else null.</summary>
    public MatArray? FieldOrNull(string name, int index = 0) => HasField(name) ? Field(name, index) : null;

    /// <summary>The single value of a numeric or logical 1 x 1 array.</summary>
    public double Scalar()
    {
        var values = Real;
        if (values.Length != 1)
            throw new InvalidOperationException($"{Where}: expected one value, found {values.Length} ({string.Join(" x ", Dimensions)})");
        return values[0];
    }

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
                    throw new InvalidOperationException($"{Where} has {Dimensions.Count} dimensions ({string.Join(" x ", Dimensions)}), expected {rank}");
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
                throw new IndexOutOfRangeException($"{Where}: subscript {s} out of range for dimension {d} of size {size}");
            index += s * stride;
            stride *= size;
        }
        return checked((int)index);
    }

    /// <summary>The file and path for messages.</summary>
    private string Where => Source.Length > 0 ? $"{Source}: '{Path}'" : $"variable '{Path}'";

    private InvalidOperationException WrongKind(string wanted) =>
        new($"{Where} is a {Class}{(IsComplex ? " (complex)" : "")} array, not a {wanted} array");
}
