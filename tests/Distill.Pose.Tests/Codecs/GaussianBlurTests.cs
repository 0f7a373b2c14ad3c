using Distill.Pose.Codecs;

namespace Distill.Pose.Tests.Codecs;

public class GaussianBlurTests
{
    [Fact]
    public void KernelMatchesOpenCvDefaults()
    {
        // OpenCV getGaussianKernel(11, 0, CV_32F) (recorded from OpenCV 4.6): sigma = 0.3 * (5 - 1) + 0.8 = 2.
        float[] recorded =
        [
            0.00881222914904356f, 0.027143577113747597f, 0.06511405855417252f, 0.12164907157421112f,
            0.17699836194515228f, 0.2005654126405716f, 0.17699836194515228f, 0.12164907157421112f,
            0.06511405855417252f, 0.027143577113747597f, 0.00881222914904356f,
        ];
        Assert.Equal(recorded, GaussianBlur.Kernel(11));
        // Small default kernels are OpenCV's fixed binomial-like tables.
        Assert.Equal([0.25f, 0.5f, 0.25f], GaussianBlur.Kernel(3));
        Assert.Equal([0.0625f, 0.25f, 0.375f, 0.25f, 0.0625f], GaussianBlur.Kernel(5));
        Assert.Throws<ArgumentOutOfRangeException>(() => GaussianBlur.Kernel(4));
    }

    [Fact]
    public void ImpulseSpreadsAsTheOuterProductOfTheKernel()
    {
        // A unit impulse in the middle of a 15 x 15 plane: the horizontal pass writes the kernel into the row,
        // the vertical pass multiplies each by the kernel again (other taps add zeros), so out[y, x] = k[y] * k[x]
        // rounded once.
        const int n = 15, c = 7;
        var plane = new float[n * n];
        plane[c * n + c] = 1f;
        GaussianBlur.ZeroPadded(plane, n, n, 11);
        var k = GaussianBlur.Kernel(11);
        for (int y = 0; y < n; y++)
            for (int x = 0; x < n; x++)
            {
                int dy = y - c + 5, dx = x - c + 5;
                float expected = dy is >= 0 and < 11 && dx is >= 0 and < 11 ? k[dy] * k[dx] : 0f;
                Assert.Equal(expected, plane[y * n + x]);
            }
    }

    [Theory]
    [InlineData(7, new uint[]
    {
        0x3E43E000, 0x3E8D2999, 0x3EA2CFFF, 0x3E9D3000, 0x3E7D5FFF, 0x3E278667, 0x3E938333, 0x3EC8C000, 0x3EDCF999,
        0x3ED07667, 0x3EAA1666, 0x3E692667, 0x3EB08333, 0x3EE6E332, 0x3EF6D999, 0x3EE68CCD, 0x3EC09CCD, 0x3E8B3000,
        0x3EB8ECCD, 0x3EEB699A, 0x3EF8A666, 0x3EEADCCD, 0x3ECBA001, 0x3E9AB667, 0x3EADC999, 0x3EDC0667, 0x3EEA5332,
        0x3EE3A667, 0x3ECDD000, 0x3EA1A000, 0x3E91E999, 0x3EBAB999, 0x3ECC2CCC, 0x3ECC9667, 0x3EBCC99A, 0x3E93B333,
        0x3E535332, 0x3E87CCCD, 0x3E98C333, 0x3E9DDCCE, 0x3E927CCC, 0x3E5ED99A,
    })]
    [InlineData(11, new uint[]
    {
        0x3E377C9A, 0x3E6C8E44, 0x3E8387E5, 0x3E7F9F59, 0x3E59F466, 0x3E2208EC, 0x3E769668, 0x3E9C710B, 0x3EABF7F7,
        0x3EA666CD, 0x3E8E7E84, 0x3E564524, 0x3E905AA8, 0x3EB500C0, 0x3EC588FC, 0x3EBF33D3, 0x3EA529D4, 0x3E7C19F5,
        0x3E9734C0, 0x3EBC644C, 0x3ECD565C, 0x3EC7EA65, 0x3EAEDC41, 0x3E87A0A1, 0x3E8F8FCD, 0x3EB2C0FB, 0x3EC3B416,
        0x3EC06EBB, 0x3EAA9014, 0x3E860FC0, 0x3E7688EF, 0x3E9A03F0, 0x3EA9FB20, 0x3EA901B4, 0x3E976BFE, 0x3E6FD19E,
        0x3E3BC65C, 0x3E6BA7EA, 0x3E8326C1, 0x3E83ACCE, 0x3E6D98B3, 0x3E3C7DF3,
    })]
    public void MatchesOpenCvOnAZeroPaddedPlane(int kernelSize, uint[] recorded)
    {
        // Recorded with OpenCV 4.6: the 7 x 6 plane v[y, x] = ((7y + 3x) mod 11) / 10 (float32), padded with
        // kernelSize / 2 zeros on every side, cv2.GaussianBlur(padded, (k, k), 0), cropped back.
        const int h = 7, w = 6;
        var plane = new float[h * w];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                plane[y * w + x] = (float)(((y * 7 + x * 3) % 11) / 10.0);
        GaussianBlur.ZeroPadded(plane, h, w, kernelSize);
        Assert.Equal(recorded.Select(b => b.ToString("X8")), plane.Select(v => BitConverter.SingleToUInt32Bits(v).ToString("X8")));
    }

    [Fact]
    public void ModulateKeepsTheMaximumAndTurnsAnEmptyPlaneIntoNaN()
    {
        var plane = new float[9 * 9];
        plane[40] = 2f;
        plane[41] = 1f;
        GaussianBlur.Modulate(plane, 9, 9, 3);
        Assert.Equal(2f, plane.Max(), 6);

        var empty = new float[5 * 5];
        GaussianBlur.Modulate(empty, 5, 5, 3);
        Assert.All(empty, v => Assert.True(float.IsNaN(v))); // 0 / 0, as in mmpose
    }
}
