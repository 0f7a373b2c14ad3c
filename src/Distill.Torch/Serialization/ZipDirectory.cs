using System.Buffers.Binary;
using System.Text;

namespace Distill.Torch.Serialization;

/// <summary>A member of a zip archive as its central directory describes it.</summary>
internal sealed record ZipMember(string Name, int Method, ushort Flags, long CompressedSize, long UncompressedSize, long LocalHeaderOffset, uint Crc32)
{
    public bool IsStored => Method == 0;
}

/// <summary>
/// Reads a zip central directory (with zip64 extensions) to learn where each member's bytes start in the file.
/// System.IO.Compression does not expose member offsets, and torch.save stores tensors uncompressed precisely so
/// that they can be read in place; every offset and size is checked against the file length before use.
/// </summary>
internal static class ZipDirectory
{
    private const uint LocalHeaderSig = 0x04034b50;
    private const uint CentralHeaderSig = 0x02014b50;
    private const uint EndSig = 0x06054b50;
    private const uint End64Sig = 0x06064b50;
    private const uint End64LocatorSig = 0x07064b50;
    private const int EndSize = 22;

    public static Dictionary<string, ZipMember> Read(FileStream fs, string path)
    {
        long length = fs.Length;
        if (length < EndSize) throw Bad(path, $"only {length} bytes: too short for a zip archive (truncated?)");

        // The end record sits in the last 22 bytes plus an optional comment of up to 65535 bytes.
        int tailLen = (int)Math.Min(length, EndSize + 0xFFFF);
        var tail = ReadAt(fs, length - tailLen, tailLen);
        int end = -1;
        for (int i = tailLen - EndSize; i >= 0; i--)
        {
            if (BinaryPrimitives.ReadUInt32LittleEndian(tail.AsSpan(i)) == EndSig &&
                i + EndSize + BinaryPrimitives.ReadUInt16LittleEndian(tail.AsSpan(i + 20)) == tailLen)
            {
                end = i;
                break;
            }
        }
        if (end < 0) throw Bad(path, "no zip end-of-central-directory record: the file is truncated or not a zip archive");
        long endPos = length - tailLen + end;
        var e = tail.AsSpan(end);
        long count = BinaryPrimitives.ReadUInt16LittleEndian(e[10..]);
        long cdSize = BinaryPrimitives.ReadUInt32LittleEndian(e[12..]);
        long cdOffset = BinaryPrimitives.ReadUInt32LittleEndian(e[16..]);
        long cdLimit = endPos;

        if (count == 0xFFFF || cdSize == 0xFFFFFFFF || cdOffset == 0xFFFFFFFF)
        {
            if (endPos < 20) throw Bad(path, "zip64 archive without its locator record");
            var loc = ReadAt(fs, endPos - 20, 20);
            if (BinaryPrimitives.ReadUInt32LittleEndian(loc) != End64LocatorSig) throw Bad(path, "zip64 archive without its locator record");
            long e64Pos = checked((long)BinaryPrimitives.ReadUInt64LittleEndian(loc.AsSpan(8)));
            if (e64Pos < 0 || e64Pos + 56 > endPos - 20) throw Bad(path, "zip64 end record lies outside the file");
            var e64 = ReadAt(fs, e64Pos, 56);
            if (BinaryPrimitives.ReadUInt32LittleEndian(e64) != End64Sig) throw Bad(path, "bad zip64 end record signature");
            count = ToLong(BinaryPrimitives.ReadUInt64LittleEndian(e64.AsSpan(32)), path);
            cdSize = ToLong(BinaryPrimitives.ReadUInt64LittleEndian(e64.AsSpan(40)), path);
            cdOffset = ToLong(BinaryPrimitives.ReadUInt64LittleEndian(e64.AsSpan(48)), path);
            cdLimit = e64Pos;
        }
        if (cdOffset < 0 || cdSize < 0 || cdOffset + cdSize > cdLimit)
            throw Bad(path, $"central directory [{cdOffset}, {cdOffset + cdSize}) lies outside the file (truncated?)");
        if (cdSize > int.MaxValue || count > cdSize / 46)
            throw Bad(path, $"central directory claims {count} members in {cdSize} bytes");

        var cd = ReadAt(fs, cdOffset, (int)cdSize);
        var members = new Dictionary<string, ZipMember>(StringComparer.Ordinal);
        int p = 0;
        for (long i = 0; i < count; i++)
        {
            if (p + 46 > cd.Length || BinaryPrimitives.ReadUInt32LittleEndian(cd.AsSpan(p)) != CentralHeaderSig)
                throw Bad(path, $"central directory entry {i} is damaged");
            var h = cd.AsSpan(p);
            ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(h[8..]);
            int method = BinaryPrimitives.ReadUInt16LittleEndian(h[10..]);
            uint crc = BinaryPrimitives.ReadUInt32LittleEndian(h[16..]);
            long comp = BinaryPrimitives.ReadUInt32LittleEndian(h[20..]);
            long uncomp = BinaryPrimitives.ReadUInt32LittleEndian(h[24..]);
            int nameLen = BinaryPrimitives.ReadUInt16LittleEndian(h[28..]);
            int extraLen = BinaryPrimitives.ReadUInt16LittleEndian(h[30..]);
            int commentLen = BinaryPrimitives.ReadUInt16LittleEndian(h[32..]);
            long local = BinaryPrimitives.ReadUInt32LittleEndian(h[42..]);
            if (p + 46 + nameLen + extraLen + commentLen > cd.Length) throw Bad(path, $"central directory entry {i} is damaged");
            string name = Encoding.UTF8.GetString(h.Slice(46, nameLen));
            var extra = h.Slice(46 + nameLen, extraLen);

            // Zip64: the fields that overflowed 32 bits follow in a fixed order inside extra block 0x0001.
            if (uncomp == 0xFFFFFFFF || comp == 0xFFFFFFFF || local == 0xFFFFFFFF)
            {
                var z = FindExtra(extra, 0x0001);
                int q = 0;
                if (uncomp == 0xFFFFFFFF) { uncomp = ReadZip64(z, ref q, name, path); }
                if (comp == 0xFFFFFFFF) { comp = ReadZip64(z, ref q, name, path); }
                if (local == 0xFFFFFFFF) { local = ReadZip64(z, ref q, name, path); }
            }
            if ((flags & 1) != 0) throw Bad(path, $"member '{name}' is encrypted");
            if (local < 0 || comp < 0 || local + comp > length)
                throw Bad(path, $"member '{name}' [{local}, {local + comp}) lies outside the file (truncated?)");
            if (!members.TryAdd(name, new ZipMember(name, method, flags, comp, uncomp, local, crc)))
                throw Bad(path, $"member '{name}' appears twice");
            p += 46 + nameLen + extraLen + commentLen;
        }
        return members;
    }

    /// <summary>File offset of a member's first data byte, from its local header.</summary>
    public static long DataOffset(FileStream fs, ZipMember m, string path)
    {
        if (m.LocalHeaderOffset + 30 > fs.Length) throw Bad(path, $"local header of '{m.Name}' lies outside the file");
        var h = ReadAt(fs, m.LocalHeaderOffset, 30);
        if (BinaryPrimitives.ReadUInt32LittleEndian(h) != LocalHeaderSig)
            throw Bad(path, $"member '{m.Name}' has no local header at byte {m.LocalHeaderOffset}");
        int nameLen = BinaryPrimitives.ReadUInt16LittleEndian(h.AsSpan(26));
        int extraLen = BinaryPrimitives.ReadUInt16LittleEndian(h.AsSpan(28));
        long data = m.LocalHeaderOffset + 30 + nameLen + extraLen;
        if (data + m.CompressedSize > fs.Length)
            throw Bad(path, $"data of member '{m.Name}' [{data}, {data + m.CompressedSize}) runs past the end of the file (truncated?)");
        return data;
    }

    public static byte[] ReadAt(FileStream fs, long offset, int count)
    {
        var buf = new byte[count];
        fs.Position = offset;
        fs.ReadExactly(buf);
        return buf;
    }

    private static ReadOnlySpan<byte> FindExtra(ReadOnlySpan<byte> extra, ushort id)
    {
        int p = 0;
        while (p + 4 <= extra.Length)
        {
            ushort tag = BinaryPrimitives.ReadUInt16LittleEndian(extra[p..]);
            int size = BinaryPrimitives.ReadUInt16LittleEndian(extra[(p + 2)..]);
            if (p + 4 + size > extra.Length) break;
            if (tag == id) return extra.Slice(p + 4, size);
            p += 4 + size;
        }
        return default;
    }

    private static long ReadZip64(ReadOnlySpan<byte> z, ref int q, string name, string path)
    {
        if (q + 8 > z.Length) throw Bad(path, $"member '{name}' lacks a complete zip64 extra field");
        long v = ToLong(BinaryPrimitives.ReadUInt64LittleEndian(z[q..]), path);
        q += 8;
        return v;
    }

    private static long ToLong(ulong v, string path) =>
        v > long.MaxValue ? throw Bad(path, $"zip field value {v} is out of range") : (long)v;

    private static CheckpointFormatException Bad(string path, string message) => new(path, message);
}
