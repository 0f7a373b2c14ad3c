using System.Runtime.InteropServices;

namespace Distill.Torch.Interop;

// image.cpp
internal static unsafe partial class Native
{
    [LibraryImport(Lib)] internal static partial void distill_buffer_free(IntPtr p);
    [LibraryImport(Lib)] internal static partial IntPtr distill_image_decode(byte* bytes, long len, out int h, out int w);
    [LibraryImport(Lib)] internal static partial IntPtr distill_image_encode(byte* img, int h, int w, int c, int format, int quality, out long len);
    [LibraryImport(Lib)] internal static partial int distill_image_warp_affine(byte* src, int h, int w, int c, double* m, byte* dst, int oh, int ow, int interp, int border);
    [LibraryImport(Lib)] internal static partial int distill_image_resize(byte* src, int h, int w, int c, byte* dst, int oh, int ow, int interp);
    [LibraryImport(Lib)] internal static partial int distill_image_flip(byte* src, int h, int w, int c, byte* dst, int code);
    [LibraryImport(Lib)] internal static partial int distill_image_hsv_shift(byte* img, int h, int w, int dh, int ds, int dv);
    [LibraryImport(Lib)] internal static partial int distill_image_blur(byte* img, int h, int w, int c, int k, [MarshalAs(UnmanagedType.U1)] bool median);
    [LibraryImport(Lib)] internal static partial int distill_image_gaussian_blur(byte* img, int h, int w, int c, int k, double sigma);
    [LibraryImport(Lib)] internal static partial int distill_image_line(byte* img, int h, int w, int c, double x1, double y1, double x2, double y2, byte* rgb, int thickness, [MarshalAs(UnmanagedType.U1)] bool antialias);
    [LibraryImport(Lib)] internal static partial int distill_image_circle(byte* img, int h, int w, int c, double x, double y, double radius, byte* rgb, int thickness, [MarshalAs(UnmanagedType.U1)] bool antialias);
    [LibraryImport(Lib)] internal static partial int distill_image_ellipse(byte* img, int h, int w, int c, double x, double y, double ax, double ay, double angleDeg, byte* rgb, int thickness, [MarshalAs(UnmanagedType.U1)] bool antialias);
    [LibraryImport(Lib)] internal static partial int distill_image_fill_poly(byte* img, int h, int w, int c, double* xy, int n, byte* rgb, [MarshalAs(UnmanagedType.U1)] bool antialias);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] internal static partial int distill_image_text(byte* img, int h, int w, int c, string text, int x, int y, double scale, byte* rgb, int thickness);
}
