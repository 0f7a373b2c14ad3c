using Distill.Pose.Datasets;
using Distill.TestSupport;
using Distill.Torch.Vision;

namespace Distill.Pose.Tests.Datasets;

public class PoseImageLoaderTests
{
    /// <summary>A PNG signature and an IHDR chunk claiming the given size, followed by junk instead of image data.</summary>
    private static byte[] FakePng(uint width, uint height)
    {
        var bytes = new List<byte> { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13 };
        bytes.AddRange("IHDR"u8.ToArray());
        bytes.AddRange([(byte)(width >> 24), (byte)(width >> 16), (byte)(width >> 8), (byte)width]);
        bytes.AddRange([(byte)(height >> 24), (byte)(height >> 16), (byte)(height >> 8), (byte)height]);
        bytes.AddRange([8, 2, 0, 0, 0, 0xDE, 0xAD, 0xBE, 0xEF]); // depth, colour type, ..., bogus CRC
        bytes.AddRange(new byte[64]);
        return bytes.ToArray();
    }

    [Fact]
    public void PngClaiming64MegapixelsIsRefusedByNameBeforeDecoding()
    {
        using var tmp = new TempFiles();
        string path = tmp.Write("huge.png", FakePng(8000, 8000));
        Assert.Equal((8000, 8000, "PNG"), ImageHeader.Read(path));
        var e = Assert.Throws<PoseImageException>(() => PoseImageLoader.Load(path));
        Assert.Equal(path, e.FilePath);
        // 8000 x 8000 = 64 000 000 px > 50 000 000. The rest of the file is junk: had the decoder run, the error
        // would be a decode failure with an inner exception, not this size refusal.
        Assert.StartsWith(path + ": PNG image is 8000x8000 = 64.0 megapixels, over the limit of 50.0", e.Message);
        Assert.Null(e.InnerException);
    }

    [Fact]
    public void JpegFrameHeaderSizeIsCheckedToo()
    {
        // SOI, an APP0 segment of length 16 to skip, then SOF0 with precision 8, height 6000, width 10000.
        byte[] jpeg =
        [
            0xFF, 0xD8,
            0xFF, 0xE0, 0x00, 0x10, (byte)'J', (byte)'F', (byte)'I', (byte)'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0,
            0xFF, 0xC0, 0x00, 0x11, 8, 0x17, 0x70, 0x27, 0x10, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1,
            0xFF, 0xD9,
        ];
        using var tmp = new TempFiles();
        string path = tmp.Write("wide.jpg", jpeg);
        Assert.Equal((10000, 6000, "JPEG"), ImageHeader.Read(path)); // 0x2710 = 10000, 0x1770 = 6000
        var e = Assert.Throws<PoseImageException>(() => PoseImageLoader.Load(path));
        Assert.Contains("10000x6000 = 60.0 megapixels", e.Message);
        // A lower limit applies to ordinary sizes as well.
        Assert.Throws<PoseImageException>(() => PoseImageLoader.Load(path, maxPixels: 1000));
    }

    [Fact]
    public void RealJpegDecodesToTheSizeInTheAnnotationFile()
    {
        var image = CocoKeypointDataset.Load(CocoJson.RealPath).FindImage(785)!;
        Assert.Equal((image.Width, image.Height, "JPEG"), ImageHeader.Read(image.Path));
        var decoded = PoseImageLoader.Load(image.Path);
        Assert.Equal(image.Width, decoded.Width);   // 640 in test_coco.json
        Assert.Equal(image.Height, decoded.Height); // 425
        Assert.Equal(3, decoded.Channels);
    }

    [Fact]
    public void EncodedPngHeaderIsRead()
    {
        using var tmp = new TempFiles();
        var img = new Image(7, 13);
        string path = tmp.Write("small.png", img.EncodePng());
        Assert.Equal((13, 7, "PNG"), ImageHeader.Read(path));
        var back = PoseImageLoader.Load(path);
        Assert.Equal((13, 7), (back.Width, back.Height));
    }

    [Fact]
    public void UndecodableAndTruncatedFilesNameTheFile()
    {
        using var tmp = new TempFiles();
        string junk = tmp.Write("junk.jpg", "this is not an image"u8.ToArray());
        var e1 = Assert.Throws<PoseImageException>(() => PoseImageLoader.Load(junk));
        Assert.StartsWith(junk + ": cannot decode image", e1.Message);

        string truncated = tmp.Write("cut.jpg", [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x4A]);
        var e2 = Assert.Throws<PoseImageException>(() => PoseImageLoader.Load(truncated));
        Assert.Contains("cut.jpg: JPEG has no frame header", e2.Message);

        string shortPng = tmp.Write("cut.png", FakePng(10, 10)[..20]);
        Assert.Contains("truncated PNG header", Assert.Throws<PoseImageException>(() => PoseImageLoader.Load(shortPng)).Message);
    }

    [Fact]
    public void MissingImageIsFileNotFoundWithItsPath()
    {
        string path = SharedData.Data("coco", "no_such_image.jpg");
        var e = Assert.Throws<FileNotFoundException>(() => PoseImageLoader.Load(path));
        Assert.Contains(path, e.Message);
    }
}
