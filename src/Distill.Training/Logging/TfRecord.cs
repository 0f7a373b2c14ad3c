using System.Buffers.Binary;

namespace Distill.Training.Logging;

/// <summary>
/// TFRecord framing, the container of TensorBoard event files. Each record is
/// <c>uint64 length (little-endian) | uint32 masked CRC-32C of those 8 bytes | data | uint32 masked CRC-32C of data</c>.
/// </summary>
public static class TfRecord
{
    /// <summary>Bytes a record adds around its payload: 8 length + 4 length CRC + 4 data CRC.</summary>
    public const int FramingBytes = HeaderBytes + 4;

    internal const int HeaderBytes = 12;

    private const uint MaskDelta = 0xA282EAD8u;

    /// <summary>
    /// Rotates the CRC right by 15 bits and adds a constant. The format stores masked CRCs so that a CRC computed over
    /// data that itself contains CRCs does not degenerate.
    /// </summary>
    public static uint Mask(uint crc) => unchecked(((crc >> 15) | (crc << 17)) + MaskDelta);

    /// <summary>Inverse of <see cref="Mask"/>.</summary>
    public static uint Unmask(uint masked)
    {
        uint rotated = unchecked(masked - MaskDelta);
        return (rotated >> 17) | (rotated << 15);
    }

    /// <summary>The complete framed record for <paramref name="data"/>, ready to be written in one call.</summary>
    public static byte[] Encode(ReadOnlySpan<byte> data)
    {
        var record = new byte[data.Length + FramingBytes];
        Span<byte> span = record;
        BinaryPrimitives.WriteUInt64LittleEndian(span, (ulong)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(span[8..], Mask(Crc32C.Compute(span[..8])));
        data.CopyTo(span[HeaderBytes..]);
        BinaryPrimitives.WriteUInt32LittleEndian(span[(HeaderBytes + data.Length)..], Mask(Crc32C.Compute(data)));
        return record;
    }
}
