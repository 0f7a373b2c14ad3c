using System.Buffers.Binary;

namespace Distill.Training.Logging;

/// <summary>
/// Reads TFRecord payloads one by one from a stream, checking both CRCs of every record. Any damage (a bad CRC,
/// a length that runs past the end, a cut-off record) is an <see cref="InvalidDataException"/> naming the source,
/// the record index and its byte offset; nothing is skipped.
/// </summary>
public sealed class TfRecordReader : IDisposable
{
    // A single event record beyond this is certainly a corrupt length field (TensorBoard's own images are far smaller).
    private const ulong MaxRecordBytes = 1UL << 31;

    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private readonly byte[] _header = new byte[TfRecord.HeaderBytes];
    private readonly byte[] _footer = new byte[4];

    /// <summary>Name used in error messages (usually the file path).</summary>
    public string Source { get; }

    /// <summary>Index of the next record to be read.</summary>
    public long RecordIndex { get; private set; }

    /// <summary>Byte offset of the next record to be read.</summary>
    public long Offset { get; private set; }

    public TfRecordReader(Stream stream, string source, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        _stream = stream;
        Source = source;
        _leaveOpen = leaveOpen;
    }

    /// <summary>Opens <paramref name="path"/> for reading while a writer may still be appending to it.</summary>
    public static TfRecordReader Open(string path) =>
        new(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete), path);

    /// <summary>Reads the next payload, or returns false at a clean end of stream.</summary>
    public bool TryReadNext(out byte[] data)
    {
        data = [];
        int got = ReadFully(_header);
        if (got == 0) return false;
        if (got < _header.Length) throw Damaged($"file ends inside the record header ({got} of {_header.Length} bytes)");

        uint lengthCrc = Crc32C.Compute(_header.AsSpan(0, 8));
        uint storedLengthCrc = BinaryPrimitives.ReadUInt32LittleEndian(_header.AsSpan(8));
        if (TfRecord.Mask(lengthCrc) != storedLengthCrc)
            throw Damaged($"length CRC mismatch (stored 0x{storedLengthCrc:X8}, computed 0x{TfRecord.Mask(lengthCrc):X8})");

        ulong length = BinaryPrimitives.ReadUInt64LittleEndian(_header);
        if (length > MaxRecordBytes) throw Damaged($"record length {length} is implausibly large");

        var payload = new byte[(int)length];
        got = ReadFully(payload);
        if (got < payload.Length) throw Damaged($"file ends inside the record data ({got} of {length} bytes)");
        got = ReadFully(_footer);
        if (got < _footer.Length) throw Damaged("file ends before the data CRC");

        uint storedDataCrc = BinaryPrimitives.ReadUInt32LittleEndian(_footer);
        uint dataCrc = TfRecord.Mask(Crc32C.Compute(payload));
        if (dataCrc != storedDataCrc)
            throw Damaged($"data CRC mismatch (stored 0x{storedDataCrc:X8}, computed 0x{dataCrc:X8})");

        data = payload;
        RecordIndex++;
        Offset += (long)length + TfRecord.FramingBytes;
        return true;
    }

    /// <summary>Every remaining payload, in order.</summary>
    public IEnumerable<byte[]> ReadAll()
    {
        while (TryReadNext(out var data)) yield return data;
    }

    public void Dispose()
    {
        if (!_leaveOpen) _stream.Dispose();
    }

    private int ReadFully(byte[] buffer)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = _stream.Read(buffer, total, buffer.Length - total);
            if (n == 0) break;
            total += n;
        }
        return total;
    }

    private InvalidDataException Damaged(string what) =>
        new($"{Source}: record {RecordIndex} at byte {Offset}: {what}");
}
