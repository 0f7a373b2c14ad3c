using System.Text.Encodings.Web;
using System.Text.Json;

namespace Distill.Torch.Serialization;

/// <summary>
/// The safetensors format: a little-endian u64 header length N, N bytes of JSON
/// (<c>{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {string: string}}</c>), then the raw
/// tensor bytes. Reading validates the whole header first and then reads each tensor natively from its byte range;
/// writing goes to a temporary file that replaces the target only once complete.
/// </summary>
public static class SafeTensors
{
    /// <summary>Loads every tensor, in header order. The tensors belong to the caller.</summary>
    public static OrderedDictionary<string, Tensor> Load(string path) => Load(path, out _);

    /// <summary>Loads every tensor, in header order, and the <c>__metadata__</c> strings.</summary>
    public static OrderedDictionary<string, Tensor> Load(string path, out Dictionary<string, string> metadata)
    {
        var header = SafeTensorsHeader.Read(path);
        metadata = header.Metadata;
        return LoadEntries(path, header, header.Tensors);
    }

    /// <summary>Reads and validates the header only (no tensor data).</summary>
    public static SafeTensorsHeader ReadHeader(string path) => SafeTensorsHeader.Read(path);

    internal static OrderedDictionary<string, Tensor> LoadEntries(string path, SafeTensorsHeader header,
        IEnumerable<SafeTensorsEntry> entries, Func<string, string>? rename = null)
    {
        string full = Path.GetFullPath(path);
        var result = new OrderedDictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var e in entries)
            {
                Tensor t;
                try
                {
                    t = torch.FromFile(full, header.DataStart + e.Begin, e.NBytes, e.DType, e.Shape);
                }
                catch (TorchException ex)
                {
                    throw new CheckpointFormatException(path, $"tensor '{e.Name}': {ex.Message}", ex);
                }
                result.Add(rename is null ? e.Name : rename(e.Name), t);
            }
            return result;
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Writes tensors (in the given order) and optional metadata. The file appears only when complete: data goes to
    /// a temporary file in the same folder, which then replaces <paramref name="path"/>. Tensor bytes are appended
    /// natively, one tensor at a time, so no tensor is copied into managed memory.
    /// </summary>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        var items = tensors.ToList();
        var names = new HashSet<string>(StringComparer.Ordinal);
        var shapes = new long[items.Count][];
        var sizes = new long[items.Count];
        for (int i = 0; i < items.Count; i++)
        {
            var (name, t) = (items[i].Key, items[i].Value);
            if (string.IsNullOrEmpty(name)) throw new ArgumentException("tensor names must not be empty", nameof(tensors));
            if (name == "__metadata__") throw new ArgumentException("'__metadata__' is reserved for the metadata entry", nameof(tensors));
            if (!names.Add(name)) throw new ArgumentException($"tensor name '{name}' appears twice", nameof(tensors));
            ArgumentNullException.ThrowIfNull(t);
            if (t.IsDisposed) throw new ObjectDisposedException($"tensor '{name}' has been disposed");
            shapes[i] = t.Shape;
            sizes[i] = checked(t.NumEl * t.ElementSize);
        }

        byte[] header = BuildHeader(items, shapes, sizes, metadata);
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full)!;
        string temp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
            {
                Span<byte> len = stackalloc byte[8];
                System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)header.Length);
                fs.Write(len);
                fs.Write(header);
            }
            for (int i = 0; i < items.Count; i++)
            {
                long written = TensorFileAppend.Append(items[i].Value, temp);
                if (written != sizes[i])
                    throw new IOException($"{path}: wrote {written} bytes for tensor '{items[i].Key}', expected {sizes[i]}");
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    private static byte[] BuildHeader(List<KeyValuePair<string, Tensor>> items, long[][] shapes, long[] sizes,
        IReadOnlyDictionary<string, string>? metadata)
    {
        using var ms = new MemoryStream();
        // Relaxed escaping keeps names such as "a+b" readable; the output is still valid JSON.
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            if (metadata is not null)
            {
                w.WriteStartObject("__metadata__");
                foreach (var (k, v) in metadata) w.WriteString(k, v);
                w.WriteEndObject();
            }
            long offset = 0;
            for (int i = 0; i < items.Count; i++)
            {
                w.WriteStartObject(items[i].Key);
                w.WriteString("dtype", SafeTensorsHeader.DTypeName(items[i].Value.DType));
                w.WriteStartArray("shape");
                foreach (var s in shapes[i]) w.WriteNumberValue(s);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset + sizes[i]);
                w.WriteEndArray();
                w.WriteEndObject();
                offset += sizes[i];
            }
            w.WriteEndObject();
        }
        // Pad with spaces so the data section starts 8-byte aligned (the length field is 8 bytes).
        int pad = (int)((8 - ms.Length % 8) % 8);
        for (int i = 0; i < pad; i++) ms.WriteByte((byte)' ');
        return ms.ToArray();
    }
}
