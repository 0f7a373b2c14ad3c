using Distill.Torch.Vision;

namespace Distill.Pose.Datasets;

/// <summary>
/// Loads dataset images as 8-bit RGB. PNG and JPEG headers are checked first, so an image over the pixel limit is
/// refused by name before any decoding (a crafted or corrupt header cannot make the decoder allocate gigabytes).
/// Other formats are decoded without the pre-check. Only regular files of a plausible size are opened (a FIFO would
/// block, a device never end). Missing files raise <see cref="FileNotFoundException"/>.
/// </summary>
public static class PoseImageLoader
{
    /// <summary>50 megapixels: far above any pose dataset image, far below what would exhaust memory.</summary>
    public const long DefaultMaxPixels = 50_000_000;

    /// <summary>512 MB: well above the file of any image within the pixel limit, so a larger file is not an image to read whole.</summary>
    public const long DefaultMaxBytes = 512L << 20;

    public static Image Load(string path, long maxPixels = DefaultMaxPixels)
    {
        Check(path, maxPixels);
        try
        {
            return Image.Read(path);
        }
        catch (Exception e) when (e is InvalidDataException or Distill.Torch.TorchException)
        {
            string reason = e.Message.StartsWith(path + ": ", StringComparison.Ordinal) ? e.Message[(path.Length + 2)..] : e.Message;
            throw new PoseImageException(path, "cannot decode image: " + reason, e);
        }
    }

    /// <summary>
    /// Everything about an image file that can be known without decoding it: it exists, is a regular file, is neither
    /// empty nor over <see cref="DefaultMaxBytes"/>, and a PNG or JPEG header is readable and within
    /// <paramref name="maxPixels"/>. Throws <see cref="FileNotFoundException"/> or <see cref="PoseImageException"/>.
    /// </summary>
    public static void Check(string path, long maxPixels = DefaultMaxPixels)
    {
        var (kind, bytes) = FileKind.Of(path);
        switch (kind)
        {
            case FileKindType.Missing:
                throw new FileNotFoundException($"image not found: {path}", path);
            case FileKindType.Regular:
                break;
            default:
                throw new PoseImageException(path, $"{FileKind.Describe(path)}, not a regular image file; refusing to read it");
        }
        if (bytes == 0) throw new PoseImageException(path, "empty file");
        if (bytes > DefaultMaxBytes)
            throw new PoseImageException(path, $"file is {bytes / 1e6:F0} MB, over the limit of {DefaultMaxBytes / 1e6:F0} MB for an image; refusing to read it");
        var size = ImageHeader.Read(path);
        if (size is var (w, h, format) && (long)w * h > maxPixels)
            throw new PoseImageException(path,
                $"{format} image is {w}x{h} = {(long)w * h / 1e6:F1} megapixels, over the limit of {maxPixels / 1e6:F1}; refusing to decode it");
    }
}
