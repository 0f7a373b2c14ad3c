using System.Buffers.Binary;

namespace Distill.Training.Logging;

/// <summary>Size and colour type read from a PNG's IHDR chunk, to check what a caller says about its image.</summary>
internal readonly record struct PngHeader(int Width, int Height, int ColorType)
{
    private static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>TensorBoard's colorspace code: 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA.</summary>
    public int Colorspace => ColorType switch
    {
        0 => 1,
        4 => 2,
        6 => 4,
        _ => 3, // truecolour (2) and palette (3) both show as RGB
    };

    /// <summary>
    /// Reads the header; null when the bytes do not start with the PNG signature followed by an IHDR chunk.
    /// </summary>
    public static PngHeader? TryRead(ReadOnlySpan<byte> png)
    {
        // signature (8) + chunk length (4) + "IHDR" (4) + width (4) + height (4) + bit depth (1) + colour type (1)
        if (png.Length < 26 || !png[..8].SequenceEqual(Signature) || !png.Slice(12, 4).SequenceEqual("IHDR"u8))
            return null;
        uint width = BinaryPrimitives.ReadUInt32BigEndian(png[16..]);
        uint height = BinaryPrimitives.ReadUInt32BigEndian(png[20..]);
        if (width == 0 || height == 0 || width > int.MaxValue || height > int.MaxValue) return null;
        return new PngHeader((int)width, (int)height, png[25]);
    }
}
