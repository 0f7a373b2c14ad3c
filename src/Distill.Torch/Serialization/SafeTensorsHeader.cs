using System.Buffers.Binary;
using System.Text.Json;

namespace Distill.Torch.Serialization;

/// <summary>
/// The validated header of a safetensors file: tensors in header order, the <c>__metadata__</c> strings, and where
/// the data section starts. Parsing checks everything a hostile or truncated file could get wrong before any tensor
/// memory is allocated.
/// </summary>
public sealed class SafeTensorsHeader
{
    /// <summary>Largest header accepted; real headers are a few hundred kilobytes at most.</summary>
    public const long MaxHeaderBytes = 100L * 1024 * 1024;

    private const int MaxDims = 64;

    private SafeTensorsHeader(IReadOnlyList<SafeTensorsEntry> tensors, Dictionary<string, string> metadata, long dataStart)
    {
        Tensors = tensors;
        Metadata = metadata;
        DataStart = dataStart;
    }

    /// <summary>Tensors in the order the header lists them.</summary>
    public IReadOnlyList<SafeTensorsEntry> Tensors { get; }

    public Dictionary<string, string> Metadata { get; }

    /// <summary>File offset of the data section (8 + header length); entry offsets are relative to it.</summary>
    public long DataStart { get; }

    internal static string DTypeName(DType t) => t switch
    {
        DType.Float32 => "F32",
        DType.Float64 => "F64",
        DType.Float16 => "F16",
        DType.BFloat16 => "BF16",
        DType.Int64 => "I64",
        DType.Int32 => "I32",
        DType.Int16 => "I16",
        DType.Int8 => "I8",
        DType.UInt8 => "U8",
        DType.Bool => "BOOL",
        _ => throw new ArgumentOutOfRangeException(nameof(t), t, "no safetensors dtype"),
    };

    private static DType? ParseDType(string s) => s switch
    {
        "F32" => DType.Float32,
        "F64" => DType.Float64,
        "F16" => DType.Float16,
        "BF16" => DType.BFloat16,
        "I64" => DType.Int64,
        "I32" => DType.Int32,
        "I16" => DType.Int16,
        "I8" => DType.Int8,
        "U8" => DType.UInt8,
        "BOOL" => DType.Bool,
        _ => null,
    };

    internal static SafeTensorsHeader Read(string path)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        return Read(fs, path);
    }

    internal static SafeTensorsHeader Read(FileStream fs, string path)
    {
        long fileLength = fs.Length;
        if (fileLength < 8) throw Bad(path, $"only {fileLength} bytes: too short for a safetensors file (truncated?)");
        Span<byte> prefix = stackalloc byte[8];
        fs.Position = 0;
        fs.ReadExactly(prefix);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (n > (ulong)(fileLength - 8))
            throw Bad(path, $"header length {n} exceeds the {fileLength - 8} bytes after the length field (truncated or not safetensors?)");
        if (n > MaxHeaderBytes) throw Bad(path, $"header length {n} exceeds the {MaxHeaderBytes}-byte limit");
        if (n < 2) throw Bad(path, $"header length {n} is too small for a JSON object");

        var json = new byte[(int)n];
        fs.ReadExactly(json);
        long dataStart = 8 + (long)n;
        long dataLength = fileLength - dataStart;

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException ex)
        {
            throw Bad(path, $"header is not valid JSON: {ex.Message}");
        }

        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw Bad(path, "header is not a JSON object");
            var entries = new List<SafeTensorsEntry>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (!seen.Add(prop.Name)) throw Bad(path, $"header lists '{prop.Name}' twice");
                if (prop.Name == "__metadata__")
                {
                    if (prop.Value.ValueKind != JsonValueKind.Object) throw Bad(path, "__metadata__ is not a JSON object");
                    foreach (var m in prop.Value.EnumerateObject())
                    {
                        if (m.Value.ValueKind != JsonValueKind.String)
                            throw Bad(path, $"__metadata__ value '{m.Name}' is not a string");
                        metadata[m.Name] = m.Value.GetString()!;
                    }
                    continue;
                }
                entries.Add(ParseEntry(prop.Name, prop.Value, path));
            }
            CheckLayout(entries, dataLength, path);
            return new SafeTensorsHeader(entries, metadata, dataStart);
        }
    }

    private static SafeTensorsEntry ParseEntry(string name, JsonElement e, string path)
    {
        if (e.ValueKind != JsonValueKind.Object) throw Bad(path, $"tensor '{name}': entry is not a JSON object");
        if (!e.TryGetProperty("dtype", out var dtypeEl) || dtypeEl.ValueKind != JsonValueKind.String)
            throw Bad(path, $"tensor '{name}': missing string 'dtype'");
        string dtypeName = dtypeEl.GetString()!;
        var dtype = ParseDType(dtypeName)
            ?? throw Bad(path, $"tensor '{name}': unknown or unsupported dtype '{dtypeName}' (supported: F32 F64 F16 BF16 I64 I32 I16 I8 U8 BOOL)");

        if (!e.TryGetProperty("shape", out var shapeEl) || shapeEl.ValueKind != JsonValueKind.Array)
            throw Bad(path, $"tensor '{name}': missing array 'shape'");
        int rank = shapeEl.GetArrayLength();
        if (rank > MaxDims) throw Bad(path, $"tensor '{name}': {rank} dimensions (at most {MaxDims})");
        var shape = new long[rank];
        long numel = 1;
        int i = 0;
        foreach (var d in shapeEl.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long v) || v < 0)
                throw Bad(path, $"tensor '{name}': shape entry {i} is not a non-negative integer");
            shape[i++] = v;
            try { numel = checked(numel * v); }
            catch (OverflowException) { throw Bad(path, $"tensor '{name}': shape [{string.Join(", ", shapeEl.EnumerateArray())}] overflows 64 bits"); }
        }
        long nbytes;
        try { nbytes = checked(numel * dtype.ElementSize()); }
        catch (OverflowException) { throw Bad(path, $"tensor '{name}': shape [{string.Join(", ", shape)}] of {dtypeName} overflows 64 bits of bytes"); }

        if (!e.TryGetProperty("data_offsets", out var offEl) || offEl.ValueKind != JsonValueKind.Array || offEl.GetArrayLength() != 2)
            throw Bad(path, $"tensor '{name}': 'data_offsets' is not a [begin, end] pair");
        if (offEl[0].ValueKind != JsonValueKind.Number || offEl[1].ValueKind != JsonValueKind.Number ||
            !offEl[0].TryGetUInt64(out ulong b) || !offEl[1].TryGetUInt64(out ulong en) || b > long.MaxValue || en > long.MaxValue)
            throw Bad(path, $"tensor '{name}': data_offsets are not non-negative 64-bit integers");
        if (b > en) throw Bad(path, $"tensor '{name}': data_offsets [{b}, {en}] are reversed");
        if ((long)(en - b) != nbytes)
            throw Bad(path, $"tensor '{name}': data_offsets [{b}, {en}] span {en - b} bytes but shape [{string.Join(", ", shape)}] of {dtypeName} needs {nbytes}");
        return new SafeTensorsEntry(name, dtype, shape, (long)b, (long)en);
    }

    // The data section must be covered exactly: in range, no overlaps, no holes, nothing after the last tensor.
    private static void CheckLayout(List<SafeTensorsEntry> entries, long dataLength, string path)
    {
        foreach (var e in entries)
            if (e.End > dataLength)
                throw Bad(path, $"tensor '{e.Name}': data [{e.Begin}, {e.End}) lies beyond the {dataLength}-byte data section (truncated?)");
        var sorted = entries.OrderBy(e => e.Begin).ThenBy(e => e.End).ToList();
        long expected = 0;
        SafeTensorsEntry? previous = null;
        foreach (var e in sorted)
        {
            if (e.Begin < expected)
                throw Bad(path, $"tensor '{e.Name}': data [{e.Begin}, {e.End}) overlaps tensor '{previous!.Name}' [{previous.Begin}, {previous.End})");
            if (e.Begin > expected)
                throw Bad(path, $"tensor '{e.Name}': data starts at {e.Begin}, leaving a gap of {e.Begin - expected} bytes after byte {expected}");
            expected = e.End;
            previous = e;
        }
        if (expected != dataLength)
            throw Bad(path, $"{dataLength - expected} bytes after the last tensor are not described by the header");
    }

    private static CheckpointFormatException Bad(string path, string message) => new(path, message);
}
