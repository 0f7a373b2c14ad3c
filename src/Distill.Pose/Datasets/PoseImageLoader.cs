using Distill.Torch.Vision;

namespace Distill.Pose.Datasets;

/// <summary>
/// Loads dataset images as 8-bit RGB. PNG and JPEG headers are checked first, so an image over the pixel limit is
/// refused by name before any decoding (a crafted or corrupt header cannot make the decoder allocate gigabytes).
/// Other formats are decoded without the pre-check. Missing files raise <see cref="FileNotFoundException"/>.
/// </summary>
public static class PoseImageLoader
{
    /// <summary>50 megapixels: far above any pose dataset image, far below what would exhaust memory.</summary>
    public const long DefaultMaxPixels = 50_000_000;

    public static Image Load(string path, long maxPixels = DefaultMaxPixels)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"image not found: {path}", path);
        var size = ImageHeader.Read(path);
        if (size is var (w, h, format) && (long)w * h > maxPixels)
            throw new PoseImageException(path,
                $"{format} image is {w}x{h} = {(long)w * h / 1e6:F1} megapixels, over the limit of {maxPixels / 1e6:F1}; refusing to decode it");
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
}
