using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Distill.Pose.Evaluation;

/// <summary>
/// Reader for MATLAB level-5 MAT-files (the format of MATLAB's default save up to v7, and of scipy's savemat):
/// numeric, logical, char, cell and struct (and object) arrays, nested to any reasonable depth, either byte order,
/// with or without zlib-compressed (miCOMPRESSED) elements. Version 7.3 files are HDF5 and are rejected with a clear message.
/// </summary>
public sealed class MatFile
{
    // Data types of the element tags.
    private const uint MiInt8 = 1, MiUInt8 = 2, MiInt16 = 3, MiUInt16 = 4, MiInt32 = 5, MiUInt32 = 6,
        MiSingle = 7, MiDouble = 9, MiInt64 = 12, MiUInt64 = 13, MiMatrix = 14, MiCompressed = 15,
        MiUtf8 = 16, MiUtf16 = 17, MiUtf32 = 18;

    private const int HeaderSize = 128;

    private readonly Dictionary<string, MatArray> _variables;

    private MatFile(string source, string headerText, Dictionary<string, MatArray> variables)
    {
        Source = source;
        HeaderText = headerText;
        _variables = variables;
    }

    /// <summary>Where the file came from (its path), used in error messages.</summary>
    public string Source { get; }

    /// <summary>The descriptive text at the start of the file.</summary>
    public string HeaderText { get; }

    /// <summary>Top-level variables by name, in file order.</summary>
    public IReadOnlyDictionary<string, MatArray> Variables => _variables;

    public MatArray this[string name] =>
        _variables.TryGetValue(name, out var v)
            ? v
            : throw new KeyNotFoundException(
                $"{Source}: no variable '{name}' (found: {string.Join(", ", _variables.Keys)})");

    public static MatFile Read(string path) => Parse(File.ReadAllBytes(path), path);

    public static MatFile Read(Stream stream, string source)
    {
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return Parse(copy.ToArray(), source);
    }

    private static MatFile Parse(byte[] bytes, string source)
    {
        if (bytes.Length < HeaderSize || !Encoding.ASCII.GetString(bytes, 0, 6).Equals("MATLAB", StringComparison.Ordinal))
            throw new FormatException($"{source}: not a level-5 MAT-file (no 'MATLAB' header; level-4 files are not supported)");
        bool littleEndian = bytes[126] == (byte)'I' && bytes[127] == (byte)'M';
        bool bigEndian = bytes[126] == (byte)'M' && bytes[127] == (byte)'I';
        if (!littleEndian && !bigEndian)
            throw new FormatException($"{source}: bad endian indicator in the MAT-file header");
        var reader = new Reader(source, littleEndian);
        int version = reader.U16(bytes, 124);
        string headerText = Encoding.ASCII.GetString(bytes, 0, 116).TrimEnd(' ', '\0');
        if (version == 0x0200 || headerText.Contains("MATLAB 7.3", StringComparison.Ordinal))
            throw new NotSupportedException($"{source}: MAT-file v7.3 (HDF5) is not supported; save with -v7 or -v6");
        if (version != 0x0100)
            throw new FormatException($"{source}: unknown MAT-file version 0x{version:X4}");

        var variables = new Dictionary<string, MatArray>();
        foreach (var array in reader.Elements(bytes, HeaderSize, bytes.Length))
        {
            if (!variables.TryAdd(array.Name, array))
                throw new FormatException($"{source}: variable '{array.Name}' appears twice");
        }
        return new MatFile(source, headerText, variables);
    }

    private sealed class Reader(string source, bool littleEndian)
    {
        public int U16(byte[] b, int offset) => littleEndian
            ? BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(offset))
            : BinaryPrimitives.ReadUInt16BigEndian(b.AsSpan(offset));

        private uint U32(byte[] b, int offset) => littleEndian
            ? BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(offset))
            : BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan(offset));

        /// <summary>Element tag at <paramref name="offset"/>: its type, data range and where the next one starts.</summary>
        private (uint Type, int Data, int Size, int Next) Tag(byte[] b, int offset, int end)
        {
            if (offset + 8 > end) throw Bad(offset, "truncated element tag");
            uint first = U32(b, offset);
            if ((first >> 16) != 0)
            {
                // Small data element: size and type share the first word, up to 4 data bytes follow.
                int small = (int)(first >> 16);
                if (small > 4) throw Bad(offset, $"small data element claims {small} bytes");
                return (first & 0xFFFF, offset + 4, small, offset + 8);
            }
            uint size = U32(b, offset + 4);
            if (size > (uint)(end - offset - 8)) throw Bad(offset, $"element of {size} bytes runs past the end of its container");
            // Compressed elements are not padded; all others end on an 8-byte boundary.
            long next = first == MiCompressed ? offset + 8L + size : offset + 8L + ((size + 7) & ~7u);
            return (first, offset + 8, (int)size, (int)Math.Min(next, end));
        }

        /// <summary>All arrays in a run of elements (the file body, or an inflated compressed element).</summary>
        public IEnumerable<MatArray> Elements(byte[] b, int offset, int end)
        {
            while (offset < end)
            {
                // Trailing zero padding after the last element is allowed.
                if (end - offset < 8) yield break;
                var (type, data, size, next) = Tag(b, offset, end);
                if (type == MiCompressed)
                {
                    byte[] inflated = Inflate(b, data, size, offset);
                    foreach (var a in Elements(inflated, 0, inflated.Length)) yield return a;
                }
                else if (type == MiMatrix)
                {
                    if (size > 0) yield return Matrix(b, data, data + size, "");
                }
                offset = next;
            }
        }

        private byte[] Inflate(byte[] b, int data, int size, int at)
        {
            try
            {
                using var input = new MemoryStream(b, data, size, writable: false);
                using var z = new ZLibStream(input, CompressionMode.Decompress);
                using var output = new MemoryStream();
                z.CopyTo(output);
                return output.ToArray();
            }
            catch (Exception e) when (e is InvalidDataException or IOException)
            {
                throw new FormatException($"{source}: compressed element at byte {at} is not a valid zlib stream: {e.Message}", e);
            }
        }

        /// <summary>Deepest nesting of cells and structs accepted; deeper files are damaged or hostile, not MPII.</summary>
        private const int MaxDepth = 64;

        /// <summary>
        /// One miMATRIX element. <paramref name="path"/> is its place in the file (empty for a top-level variable,
        /// whose path is its name); nested cells and struct fields extend it MATLAB style.
        /// </summary>
        private MatArray Matrix(byte[] b, int offset, int end, string path, int depth = 0)
        {
            if (depth > MaxDepth) throw Bad(offset, $"'{path}': cells and structs nested more than {MaxDepth} deep");
            var flags = Tag(b, offset, end);
            if (flags.Type != MiUInt32 || flags.Size != 8) throw Bad(offset, "array flags must be 8 bytes of miUINT32");
            uint flagWord = U32(b, flags.Data);
            var matClass = (MatClass)(flagWord & 0xFF);
            bool complex = (flagWord & 0x0800) != 0;
            bool logical = (flagWord & 0x0200) != 0;

            var dimsTag = Tag(b, flags.Next, end);
            var dims = ToDoubles(b, dimsTag.Type, dimsTag.Data, dimsTag.Size, flags.Next).Select(d => (int)d).ToArray();
            var nameTag = Tag(b, dimsTag.Next, end);
            string name = Encoding.UTF8.GetString(b, nameTag.Data, nameTag.Size).TrimEnd('\0');
            if (path.Length == 0) path = name;
            string where = $"'{path}'";
            if (dims.Any(d => d < 0)) throw Bad(flags.Next, $"{where}: negative dimension in {string.Join(" x ", dims)}");
            long count = dims.Contains(0) ? 0 : 1;
            foreach (int d in dims)
            {
                if (count == 0) break;
                count *= d;
                // Every element needs at least one stored byte, so a larger count cannot be genuine.
                if (count > end - offset) throw Bad(flags.Next, $"{where}: dimensions {string.Join(" x ", dims)} exceed the data present");
            }
            int next = nameTag.Next;

            switch (matClass)
            {
                case >= MatClass.Double and <= MatClass.UInt64:
                {
                    var realTag = Tag(b, next, end);
                    var real = ToDoubles(b, realTag.Type, realTag.Data, realTag.Size, next);
                    CheckCount(real.Length, count, where, next);
                    double[]? imaginary = null;
                    if (complex)
                    {
                        var imagTag = Tag(b, realTag.Next, end);
                        imaginary = ToDoubles(b, imagTag.Type, imagTag.Data, imagTag.Size, realTag.Next);
                        CheckCount(imaginary.Length, count, where, realTag.Next);
                    }
                    return new MatArray(name, matClass, dims, logical, real: real, imaginary: imaginary, path: path, source: source);
                }
                case MatClass.Char:
                {
                    var textTag = Tag(b, next, end);
                    string text = Chars(b, textTag.Type, textTag.Data, textTag.Size, next);
                    CheckCount(text.Length, count, where, next);
                    return new MatArray(name, matClass, dims, logical, text: text, path: path, source: source);
                }
                case MatClass.Cell:
                {
                    var cells = new MatArray[count];
                    for (long i = 0; i < count; i++)
                    {
                        string cellPath = $"{path}{{{i + 1}}}";
                        cells[i] = Element(b, ref next, end, cellPath, depth);
                    }
                    return new MatArray(name, matClass, dims, logical, cells: cells, path: path, source: source);
                }
                case MatClass.Struct or MatClass.Object:
                {
                    string? className = null;
                    if (matClass == MatClass.Object)
                    {
                        var classTag = Tag(b, next, end);
                        if (classTag.Type is not (MiInt8 or MiUInt8)) throw Bad(next, $"{where}: object class name must be miINT8 text");
                        className = Encoding.UTF8.GetString(b, classTag.Data, classTag.Size).TrimEnd('\0');
                        next = classTag.Next;
                    }
                    // Field names are stored as one block of fixed-width, NUL-padded names.
                    var widthTag = Tag(b, next, end);
                    if (widthTag.Type != MiInt32 || widthTag.Size != 4) throw Bad(next, $"{where}: field name length must be one miINT32");
                    long width = (int)U32(b, widthTag.Data);
                    var namesTag = Tag(b, widthTag.Next, end);
                    if (namesTag.Type is not (MiInt8 or MiUInt8)) throw Bad(widthTag.Next, $"{where}: field names must be miINT8 text");
                    if (width <= 0 ? namesTag.Size != 0 : namesTag.Size % width != 0)
                        throw Bad(widthTag.Next, $"{where}: {namesTag.Size} bytes of field names do not divide into names of {width} bytes");
                    int fieldCount = width <= 0 ? 0 : (int)(namesTag.Size / width);
                    var fields = new string[fieldCount];
                    for (int f = 0; f < fieldCount; f++)
                    {
                        string field = Encoding.UTF8.GetString(b, namesTag.Data + (int)(f * width), (int)width);
                        int nul = field.IndexOf('\0');
                        fields[f] = nul >= 0 ? field[..nul] : field;
                        if (fields[f].Length == 0) throw Bad(widthTag.Next, $"{where}: field {f + 1} has an empty name");
                        if (Array.IndexOf(fields, fields[f], 0, f) >= 0) throw Bad(widthTag.Next, $"{where}: field '{fields[f]}' appears twice");
                    }
                    next = namesTag.Next;
                    // Each value needs at least an 8-byte tag, so more values than that cannot be genuine.
                    long values = count * fieldCount;
                    if (values > (end - next) / 8) throw Bad(next, $"{where}: {count} elements x {fieldCount} fields exceed the data present");
                    var fieldValues = new MatArray[values];
                    for (long i = 0; i < count; i++)
                        for (int f = 0; f < fieldCount; f++)
                        {
                            string fieldPath = count == 1 ? $"{path}.{fields[f]}" : $"{path}({i + 1}).{fields[f]}";
                            fieldValues[i * fieldCount + f] = Element(b, ref next, end, fieldPath, depth);
                        }
                    return new MatArray(name, matClass, dims, logical, path: path, source: source,
                        fieldNames: fields, fieldValues: fieldValues, className: className);
                }
                default:
                    // Sparse arrays, function handles and opaque objects are listed without their contents.
                    return new MatArray(name, matClass, dims, logical, path: path, source: source);
            }
        }

        /// <summary>A cell element or struct field value: an miMATRIX element, possibly empty (MATLAB's []).</summary>
        private MatArray Element(byte[] b, ref int next, int end, string path, int depth)
        {
            var tag = Tag(b, next, end);
            if (tag.Type != MiMatrix) throw Bad(next, $"'{path}' is not an miMATRIX element");
            var value = tag.Size == 0
                ? new MatArray("", MatClass.Double, [0, 0], false, real: [], path: path, source: source)
                : Matrix(b, tag.Data, tag.Data + tag.Size, path, depth + 1);
            next = tag.Next;
            return value;
        }

        private void CheckCount(long actual, long expected, string where, int at)
        {
            if (actual != expected) throw Bad(at, $"{where}: {actual} values stored for {expected} elements");
        }

        private double[] ToDoubles(byte[] b, uint type, int data, int size, int at)
        {
            int width = type switch
            {
                MiInt8 or MiUInt8 => 1,
                MiInt16 or MiUInt16 => 2,
                MiInt32 or MiUInt32 or MiSingle => 4,
                MiDouble or MiInt64 or MiUInt64 => 8,
                _ => throw Bad(at, $"data type {type} is not numeric"),
            };
            if (size % width != 0) throw Bad(at, $"{size} bytes is not a whole number of {width}-byte values");
            var values = new double[size / width];
            var s = b.AsSpan(data, size);
            bool le = littleEndian;
            for (int i = 0; i < values.Length; i++)
            {
                var v = s.Slice(i * width, width);
                values[i] = type switch
                {
                    MiInt8 => (sbyte)v[0],
                    MiUInt8 => v[0],
                    MiInt16 => le ? BinaryPrimitives.ReadInt16LittleEndian(v) : BinaryPrimitives.ReadInt16BigEndian(v),
                    MiUInt16 => le ? BinaryPrimitives.ReadUInt16LittleEndian(v) : BinaryPrimitives.ReadUInt16BigEndian(v),
                    MiInt32 => le ? BinaryPrimitives.ReadInt32LittleEndian(v) : BinaryPrimitives.ReadInt32BigEndian(v),
                    MiUInt32 => le ? BinaryPrimitives.ReadUInt32LittleEndian(v) : BinaryPrimitives.ReadUInt32BigEndian(v),
                    MiSingle => le ? BinaryPrimitives.ReadSingleLittleEndian(v) : BinaryPrimitives.ReadSingleBigEndian(v),
                    MiDouble => le ? BinaryPrimitives.ReadDoubleLittleEndian(v) : BinaryPrimitives.ReadDoubleBigEndian(v),
                    MiInt64 => le ? BinaryPrimitives.ReadInt64LittleEndian(v) : BinaryPrimitives.ReadInt64BigEndian(v),
                    _ => le ? BinaryPrimitives.ReadUInt64LittleEndian(v) : BinaryPrimitives.ReadUInt64BigEndian(v),
                };
            }
            return values;
        }

        private string Chars(byte[] b, uint type, int data, int size, int at)
        {
            switch (type)
            {
                case MiUtf8:
                    return Encoding.UTF8.GetString(b, data, size);
                case MiInt8 or MiUInt8:
                    return Encoding.Latin1.GetString(b, data, size);
                case MiUInt16 or MiUtf16:
                    return (littleEndian ? Encoding.Unicode : Encoding.BigEndianUnicode).GetString(b, data, size);
                case MiUtf32 or MiInt32 or MiUInt32:
                {
                    var sb = new StringBuilder();
                    foreach (double cp in ToDoubles(b, MiUInt32, data, size, at))
                    {
                        if (cp > 0x10FFFF || cp is >= 0xD800 and <= 0xDFFF) throw Bad(at, $"invalid character code {cp}");
                        sb.Append(char.ConvertFromUtf32((int)cp));
                    }
                    return sb.ToString();
                }
                default:
                    throw Bad(at, $"data type {type} cannot hold characters");
            }
        }

        private FormatException Bad(int offset, string message) => new($"{source}: byte {offset}: {message}");
    }
}
