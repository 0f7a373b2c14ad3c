using System.Runtime.InteropServices;
using Distill.Torch.Interop;

namespace Distill.Torch.Vision;

/// <summary>
/// An 8-bit image in managed memory, HWC with 3 (RGB) or 1 channels. Pixel work runs in the native shim (OpenCV);
/// the pixels stay in a managed array so images move freely between loader threads.
/// </summary>
public sealed unsafe class Image
{
    public int Height { get; }
    public int Width { get; }
    public int Channels { get; }
    public byte[] Data { get; }

    public Image(int height, int width, int channels = 3, byte[]? data = null)
    {
        if (height <= 0 || width <= 0) throw new ArgumentException($"invalid image size {width}x{height}");
        if (channels is not (1 or 3 or 4)) throw new ArgumentException($"unsupported channel count {channels}");
        Height = height;
        Width = width;
        Channels = channels;
        long n = (long)height * width * channels;
        if (data is not null && data.Length != n) throw new ArgumentException($"{data.Length} bytes do not fill {width}x{height}x{channels}");
        Data = data ?? new byte[n];
    }

    public Image Clone() => new(Height, Width, Channels, (byte[])Data.Clone());

    public byte this[int y, int x, int c]
    {
        get => Data[((long)y * Width + x) * Channels + c];
        set => Data[((long)y * Width + x) * Channels + c] = value;
    }

    /// <summary>Decodes JPEG, PNG, BMP, ... bytes to 8-bit RGB (gray, 16-bit and alpha images are converted).</summary>
    public static Image Decode(ReadOnlySpan<byte> bytes)
    {
        IntPtr buf;
        int h, w;
        fixed (byte* p = bytes) buf = Native.distill_image_decode(p, bytes.Length, out h, out w);
        Native.CheckPtr(buf);
        try
        {
            var img = new Image(h, w, 3);
            Marshal.Copy(buf, img.Data, 0, img.Data.Length);
            return img;
        }
        finally
        {
            Native.distill_buffer_free(buf);
        }
    }

    /// <summary>Reads and decodes an image file; errors name the file.</summary>
    public static Image Read(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        try
        {
            return Decode(bytes);
        }
        catch (TorchException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }

    public byte[] EncodePng() => Encode(0, 0);

    public byte[] EncodeJpeg(int quality = 95) => Encode(1, quality);

    private byte[] Encode(int format, int quality)
    {
        IntPtr buf;
        long len;
        fixed (byte* p = Data) buf = Native.distill_image_encode(p, Height, Width, Channels, format, quality, out len);
        Native.CheckPtr(buf);
        try
        {
            var result = new byte[len];
            Marshal.Copy(buf, result, 0, (int)len);
            return result;
        }
        finally
        {
            Native.distill_buffer_free(buf);
        }
    }

    public void SavePng(string path) => File.WriteAllBytes(path, EncodePng());

    public void SaveJpeg(string path, int quality = 95) => File.WriteAllBytes(path, EncodeJpeg(quality));

    /// <summary>
    /// Warps into a new <paramref name="outWidth"/> x <paramref name="outHeight"/> image with the 2x3 matrix that maps
    /// source pixels to destination pixels (OpenCV's warpAffine convention); outside pixels become <paramref name="border"/>.
    /// </summary>
    public Image WarpAffine(ReadOnlySpan<double> matrix2x3, int outWidth, int outHeight, bool bilinear = true, byte border = 0)
    {
        if (matrix2x3.Length != 6) throw new ArgumentException("an affine matrix has 6 entries");
        var dst = new Image(outHeight, outWidth, Channels);
        fixed (byte* s = Data)
        fixed (byte* d = dst.Data)
        fixed (double* m = matrix2x3)
            Native.Check(Native.distill_image_warp_affine(s, Height, Width, Channels, m, d, outHeight, outWidth, bilinear ? 1 : 0, border));
        return dst;
    }

    public Image Resize(int outWidth, int outHeight, bool bilinear = true)
    {
        var dst = new Image(outHeight, outWidth, Channels);
        fixed (byte* s = Data)
        fixed (byte* d = dst.Data)
            Native.Check(Native.distill_image_resize(s, Height, Width, Channels, d, outHeight, outWidth, bilinear ? 1 : 0));
        return dst;
    }

    /// <summary>Mirror image (left-right).</summary>
    public Image FlipHorizontal()
    {
        var dst = new Image(Height, Width, Channels);
        fixed (byte* s = Data)
        fixed (byte* d = dst.Data)
            Native.Check(Native.distill_image_flip(s, Height, Width, Channels, d, 1));
        return dst;
    }

    /// <summary>In place: hue += dh (0..180 units, wrapping), saturation += ds, value += dv (clipped).</summary>
    public void HsvShift_(int dh, int ds, int dv)
    {
        if (Channels != 3) throw new InvalidOperationException("HSV shift needs an RGB image");
        fixed (byte* p = Data) Native.Check(Native.distill_image_hsv_shift(p, Height, Width, dh, ds, dv));
    }

    /// <summary>In place box blur with a k x k kernel.</summary>
    public void Blur_(int k)
    {
        fixed (byte* p = Data) Native.Check(Native.distill_image_blur(p, Height, Width, Channels, k, false));
    }

    /// <summary>In place median blur (k odd).</summary>
    public void MedianBlur_(int k)
    {
        fixed (byte* p = Data) Native.Check(Native.distill_image_blur(p, Height, Width, Channels, k, true));
    }

    public void GaussianBlur_(int k, double sigma)
    {
        fixed (byte* p = Data) Native.Check(Native.distill_image_gaussian_blur(p, Height, Width, Channels, k, sigma));
    }

    // ---- drawing (colours are RGB) ----------------------------------------------------------------------------

    public void DrawLine(double x1, double y1, double x2, double y2, (byte R, byte G, byte B) colour, int thickness = 1, bool antialias = true)
    {
        byte* c = stackalloc byte[] { colour.R, colour.G, colour.B, 255 };
        fixed (byte* p = Data) Native.Check(Native.distill_image_line(p, Height, Width, Channels, x1, y1, x2, y2, c, thickness, antialias));
    }

    /// <summary>A circle; thickness below 0 fills it.</summary>
    public void DrawCircle(double x, double y, double radius, (byte R, byte G, byte B) colour, int thickness = -1, bool antialias = true)
    {
        byte* c = stackalloc byte[] { colour.R, colour.G, colour.B, 255 };
        fixed (byte* p = Data) Native.Check(Native.distill_image_circle(p, Height, Width, Channels, x, y, radius, c, thickness, antialias));
    }

    /// <summary>An ellipse with semi-axes (ax, ay) rotated by angle degrees; thickness below 0 fills it.</summary>
    public void DrawEllipse(double x, double y, double ax, double ay, double angleDeg, (byte R, byte G, byte B) colour, int thickness = -1, bool antialias = true)
    {
        byte* c = stackalloc byte[] { colour.R, colour.G, colour.B, 255 };
        fixed (byte* p = Data) Native.Check(Native.distill_image_ellipse(p, Height, Width, Channels, x, y, ax, ay, angleDeg, c, thickness, antialias));
    }

    /// <summary>Fills a polygon given as (x, y) pairs.</summary>
    public void FillPolygon(ReadOnlySpan<double> xy, (byte R, byte G, byte B) colour, bool antialias = true)
    {
        if (xy.Length < 6 || xy.Length % 2 != 0) throw new ArgumentException("a polygon needs at least three (x, y) pairs");
        byte* c = stackalloc byte[] { colour.R, colour.G, colour.B, 255 };
        fixed (byte* p = Data)
        fixed (double* q = xy)
            Native.Check(Native.distill_image_fill_poly(p, Height, Width, Channels, q, xy.Length / 2, c, antialias));
    }

    public void DrawText(string text, int x, int y, double scale, (byte R, byte G, byte B) colour, int thickness = 1)
    {
        byte* c = stackalloc byte[] { colour.R, colour.G, colour.B, 255 };
        fixed (byte* p = Data) Native.Check(Native.distill_image_text(p, Height, Width, Channels, text, x, y, scale, c, thickness));
    }
}
