using System.Buffers.Binary;

namespace Distill.Pose.Datasets;

/// <summary>
/// Image dimensions read from a PNG or JPEG header without decoding, so that oversized images can be refused
/// before the decoder allocates for them.
/// </summary>
public static class ImageHeader
{
    private static ReadOnlySpan<byte> PngSignature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>
    /// (width, height, format) of a PNG or JPEG file, or null for any other format. A PNG or JPEG whose header is
    /// truncated or inconsistent is a <see cref="PoseImageException"/>.
    /// </summary>
    public static (int Width, int Height, string Format)? Read(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 4096, FileOptions.SequentialScan);
        return Read(stream, path);
    }

    public static (int Width, int Height, string Format)? Read(Stream stream, string label)
    {
        Span<byte> head = stackalloc byte[8];
        int n = stream.ReadAtLeast(head, 8, throwOnEndOfStream: false);
        if (n >= 8 && head.SequenceEqual(PngSignature)) return ReadPng(stream, label);
        if (n >= 2 && head[0] == 0xFF && head[1] == 0xD8)
        {
            stream.Seek(2, SeekOrigin.Begin);
            return ReadJpeg(stream, label);
        }
        return null;
    }

    // PNG: the signature is followed by the IHDR chunk: length (4, big-endian, = 13), "IHDR", width (4), height (4).
    private static (int, int, string) ReadPng(Stream s, string label)
    {
        Span<byte> ihdr = stackalloc byte[16];
        if (s.ReadAtLeast(ihdr, 16, throwOnEndOfStream: false) < 16)
            throw new PoseImageException(label, "truncated PNG header");
        if (ihdr[4] != 'I' || ihdr[5] != 'H' || ihdr[6] != 'D' || ihdr[7] != 'R')
            throw new PoseImageException(label, "PNG does not start with an IHDR chunk");
        uint w = BinaryPrimitives.ReadUInt32BigEndian(ihdr[8..]), h = BinaryPrimitives.ReadUInt32BigEndian(ihdr[12..]);
        if (w == 0 || h == 0 || w > int.MaxValue || h > int.MaxValue)
            throw new PoseImageException(label, $"PNG header gives an invalid size {w}x{h}");
        return ((int)w, (int)h, "PNG");
    }

    // JPEG: walk the marker segments after SOI until a start-of-frame (SOF0-3, 5-7, 9-11, 13-15), whose payload is
    // precision (1), height (2), width (2). Other segments are skipped by their big-endian length.
    private static (int, int, string) ReadJpeg(Stream s, string label)
    {
        Span<byte> buf = stackalloc byte[5];
        while (true)
        {
            int b = s.ReadByte();
            if (b < 0) break;
            if (b != 0xFF) throw new PoseImageException(label, $"corrupt JPEG: expected a marker at byte {s.Position - 1}");
            int marker;
            do marker = s.ReadByte(); while (marker == 0xFF); // fill bytes
            if (marker < 0) break;
            if (marker == 0xD9 || marker == 0xDA) break; // end of image, or scan data before any frame header
            if (marker == 0x01 || marker is >= 0xD0 and <= 0xD7) continue; // markers without a length
            if (s.ReadAtLeast(buf[..2], 2, throwOnEndOfStream: false) < 2) break;
            int length = BinaryPrimitives.ReadUInt16BigEndian(buf);
            if (length < 2) throw new PoseImageException(label, $"corrupt JPEG: segment length {length}");
            bool isFrame = marker is >= 0xC0 and <= 0xCF && marker is not (0xC4 or 0xC8 or 0xCC);
            if (isFrame)
            {
                if (length < 7 || s.ReadAtLeast(buf, 5, throwOnEndOfStream: false) < 5)
                    throw new PoseImageException(label, "truncated JPEG frame header");
                int h = BinaryPrimitives.ReadUInt16BigEndian(buf[1..]), w = BinaryPrimitives.ReadUInt16BigEndian(buf[3..]);
                if (w == 0 || h == 0) throw new PoseImageException(label, $"JPEG frame header gives an unsupported size {w}x{h}");
                return (w, h, "JPEG");
            }
            s.Seek(length - 2, SeekOrigin.Current);
        }
        throw new PoseImageException(label, "JPEG has no frame header (SOF) before its image data");
    }
}
