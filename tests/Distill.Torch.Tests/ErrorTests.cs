using Distill.Torch;
using Distill.Torch.Vision;

namespace Distill.Torch.Tests;

public class ErrorTests
{
    [Fact]
    public void Conv2dChannelMismatchThrowsLibtorchMessage()
    {
        using var x = torch.Zeros([1, 3, 8, 8]);
        using var w = torch.Zeros([4, 5, 3, 3]);
        var ex = Assert.Throws<TorchException>(() => Functional.Conv2d(x, w));
        Assert.Contains("expected input[1, 3, 8, 8] to have 5 channels", ex.Message);
        // libtorch's C++ backtrace must not leak into the message.
        Assert.DoesNotContain("Exception raised from", ex.Message);
    }

    [Fact]
    public void MatmulShapeMismatchThrowsLibtorchMessage()
    {
        using var a = torch.Zeros([2, 3]);
        using var b = torch.Zeros([4, 5]);
        var ex = Assert.Throws<TorchException>(() => a.MatMul(b));
        Assert.Contains("cannot be multiplied (2x3 and 4x5)", ex.Message);
    }

    [Fact]
    public void ErrorsDoNotLeakIntoLaterCalls()
    {
        using var a = torch.Zeros([2, 3]);
        Assert.Throws<TorchException>(() => a.View(7));
        using var ok = a.View(3, 2);
        Assert.Equal(new long[] { 3, 2 }, ok.Shape);
    }

    [Fact]
    public void VoidCallsAreCheckedToo()
    {
        using var a = torch.Zeros([2, 3]);
        using var b = torch.Zeros([5]);
        Assert.Throws<TorchException>(() => a.Copy_(b));
        Assert.Throws<TorchException>(() => a.Backward());
    }

    [Fact]
    public void DisposedTensorThrowsObjectDisposed()
    {
        var t = torch.Ones([3]);
        t.Dispose();
        Assert.Throws<ObjectDisposedException>(() => t.Sum());
        Assert.Throws<ObjectDisposedException>(() => t.Shape);
        t.Dispose(); // idempotent
    }

    [Fact]
    public void CorruptAndTruncatedImagesGiveErrors()
    {
        var png = new Image(4, 5).EncodePng();
        Assert.Throws<TorchException>(() => Image.Decode(png.AsSpan(0, png.Length / 2)));
        Assert.Throws<TorchException>(() => Image.Decode(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 }));
        Assert.Throws<TorchException>(() => Image.Decode(ReadOnlySpan<byte>.Empty));
    }

    [Fact]
    public void ErrorsOnOtherThreadsStayThere()
    {
        using var a = torch.Zeros([2, 3]);
        var t = new Thread(() => Assert.Throws<TorchException>(() => a.View(5)));
        t.Start();
        t.Join();
        using var fine = a.Sum();
        Assert.Equal(0.0, fine.ItemDouble());
    }
}

public class ImageIoTests
{
    [Fact]
    public void TruncatedJpegIsRefused()
    {
        var img = new Image(32, 32);
        img.DrawCircle(16, 16, 8, (255, 0, 0));
        var jpg = img.EncodeJpeg(90);
        Assert.Equal(32, Image.Decode(jpg).Width);
        Assert.Throws<TorchException>(() => Image.Decode(jpg.AsSpan(0, jpg.Length - 40)));
    }

    [Fact]
    public void PngRoundTripIsLossless()
    {
        var img = new Image(3, 4);
        for (int i = 0; i < img.Data.Length; i++) img.Data[i] = (byte)(i * 7);
        var back = Image.Decode(img.EncodePng());
        Assert.Equal(img.Data, back.Data);
    }

    [Fact]
    public void WarpAffineWithIdentityAndShift()
    {
        var img = new Image(4, 4, 1);
        img[1, 1, 0] = 200;
        // x' = x + 2, y' = y + 1: the bright pixel moves from (1, 1) to (3, 2).
        var moved = img.WarpAffine([1, 0, 2, 0, 1, 1], 4, 4);
        Assert.Equal(200, moved[2, 3, 0]);
        Assert.Equal(0, moved[1, 1, 0]);
    }

    [Fact]
    public void FlipMirrorsColumns()
    {
        var img = new Image(1, 3, 3);
        img[0, 0, 0] = 10;
        img[0, 2, 2] = 30;
        var f = img.FlipHorizontal();
        Assert.Equal(10, f[0, 2, 0]);
        Assert.Equal(30, f[0, 0, 2]);
    }

    [Fact]
    public void HsvShiftOfValueBrightensGrey()
    {
        var img = new Image(2, 2);
        Array.Fill(img.Data, (byte)100);
        img.HsvShift_(0, 0, 20);
        Assert.All(img.Data, b => Assert.Equal(120, b));
    }

    [Fact]
    public void MedianBlurRemovesASinglePixelSpike()
    {
        var img = new Image(5, 5, 1);
        img[2, 2, 0] = 255;
        img.MedianBlur_(3);
        Assert.Equal(0, img[2, 2, 0]);
        Assert.Throws<TorchException>(() => img.MedianBlur_(4));
    }
}
