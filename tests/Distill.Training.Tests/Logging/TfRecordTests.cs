using System.Buffers.Binary;
using System.Text;
using Distill.Training.Logging;

namespace Distill.Training.Tests.Logging;

public class TfRecordTests
{
    [Fact]
    public void MaskRotatesRightBy15AndAddsConstant()
    {
        // 0: rotation is 0, plus 0xA282EAD8.
        Assert.Equal(0xA282EAD8u, TfRecord.Mask(0));
        // 0xE3069283 >> 15 = 0x0001C60D; (0xE3069283 << 17) mod 2^32 = 0x25060000; or = 0x2507C60D;
        // 0x2507C60D + 0xA282EAD8 = 0xC78AB0E5.
        Assert.Equal(0xC78AB0E5u, TfRecord.Mask(0xE3069283u));
        // 0xFFFFFFFF rotates to itself; + 0xA282EAD8 wraps to 0xA282EAD7.
        Assert.Equal(0xA282EAD7u, TfRecord.Mask(0xFFFFFFFFu));
    }

    [Fact]
    public void UnmaskInvertsMask()
    {
        foreach (uint crc in new[] { 0u, 1u, 0xE3069283u, 0x80000000u, 0xFFFFFFFFu, 0x12345678u })
            Assert.Equal(crc, TfRecord.Unmask(TfRecord.Mask(crc)));
    }

    [Fact]
    public void EncodeLaysOutLengthCrcDataCrc()
    {
        byte[] record = TfRecord.Encode("abc"u8);

        Assert.Equal(3 + 16, record.Length);
        // Length 3 as uint64 little-endian.
        Assert.Equal(new byte[] { 3, 0, 0, 0, 0, 0, 0, 0 }, record[..8]);
        // CRC-32C of those 8 bytes is 0x576C35E3 (bitwise definition), stored masked.
        Assert.Equal(TfRecord.Mask(0x576C35E3u), BinaryPrimitives.ReadUInt32LittleEndian(record.AsSpan(8)));
        Assert.Equal("abc"u8.ToArray(), record[12..15]);
        // CRC-32C("abc") = 0x364B3FB7, stored masked.
        Assert.Equal(TfRecord.Mask(0x364B3FB7u), BinaryPrimitives.ReadUInt32LittleEndian(record.AsSpan(15)));
    }

    [Fact]
    public void ReaderReturnsPayloadsInOrder()
    {
        var payloads = new[] { "first"u8.ToArray(), Array.Empty<byte>(), Encoding.UTF8.GetBytes(new string('x', 5000)) };
        using var stream = new MemoryStream(payloads.SelectMany(p => TfRecord.Encode(p)).ToArray());
        using var reader = new TfRecordReader(stream, "memory");

        var read = reader.ReadAll().ToList();

        Assert.Equal(payloads.Length, read.Count);
        for (int i = 0; i < payloads.Length; i++) Assert.Equal(payloads[i], read[i]);
        Assert.Equal(stream.Length, reader.Offset);
    }

    [Fact]
    public void ReaderDetectsFlippedDataByte()
    {
        byte[] bytes = [.. TfRecord.Encode("good"u8), .. TfRecord.Encode("payload"u8)];
        bytes[20 + 12 + 2] ^= 0x01; // a byte inside the second record's data (first record is 4 + 16 = 20 bytes)

        var e = Assert.Throws<InvalidDataException>(() => ReadAll(bytes, "sample.tfrecord"));

        Assert.Contains("sample.tfrecord", e.Message);
        Assert.Contains("record 1 at byte 20", e.Message);
        Assert.Contains("data CRC", e.Message);
    }

    [Fact]
    public void ReaderDetectsDamagedLength()
    {
        byte[] bytes = TfRecord.Encode("payload"u8);
        bytes[0] = 200;

        var e = Assert.Throws<InvalidDataException>(() => ReadAll(bytes, "f"));

        Assert.Contains("record 0 at byte 0", e.Message);
        Assert.Contains("length CRC", e.Message);
    }

    [Fact]
    public void ReaderDetectsDamagedDataCrc()
    {
        byte[] bytes = TfRecord.Encode("payload"u8);
        bytes[^1] ^= 0x80;

        var e = Assert.Throws<InvalidDataException>(() => ReadAll(bytes, "f"));

        Assert.Contains("data CRC", e.Message);
    }

    [Theory]
    [InlineData(5)]   // inside the header
    [InlineData(14)]  // inside the data
    [InlineData(21)]  // inside the trailing CRC
    public void ReaderReportsCutOffRecord(int keep)
    {
        byte[] whole = TfRecord.Encode("payload"u8); // 7 + 16 = 23 bytes

        var e = Assert.Throws<InvalidDataException>(() => ReadAll(whole[..keep], "cut"));

        Assert.Contains("cut: record 0", e.Message);
        Assert.Contains("ends", e.Message);
    }

    private static List<byte[]> ReadAll(byte[] bytes, string source)
    {
        using var reader = new TfRecordReader(new MemoryStream(bytes), source);
        return reader.ReadAll().ToList();
    }
}
