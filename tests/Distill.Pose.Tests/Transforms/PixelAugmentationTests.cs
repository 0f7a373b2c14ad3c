using Distill.Pose.Transforms;
using Distill.Torch.Vision;

namespace Distill.Pose.Tests.Transforms;

public class PixelAugmentationTests
{
    private static readonly TopdownAugmentation DropoutOnly = TopdownAugmentation.None with { CoarseDropoutProb = 1 };

    [Fact]
    public void DropoutHoleIsAFifthToTwoFifthsOfTheCropAndBlack()
    {
        for (ulong seed = 0; seed < 50; seed++)
        {
            var p = PixelAugmentation.Draw(DropoutOnly, (192, 256), new SampleRandom(seed));
            var (x1, y1, x2, y2) = Assert.Single(p.Holes);
            // int(256 x [0.2, 0.4)) = 51..102 rows, int(192 x [0.2, 0.4)) = 38..76 columns, inside the crop.
            Assert.InRange(y2 - y1, 51, 102);
            Assert.InRange(x2 - x1, 38, 76);
            Assert.True(x1 >= 0 && y1 >= 0 && x2 <= 192 && y2 <= 256);

            var img = new Image(256, 192, 3);
            Array.Fill(img.Data, (byte)255);
            p.Apply(img);
            int black = img.Data.Count(b => b == 0) / 3;
            Assert.Equal((x2 - x1) * (y2 - y1), black);
            Assert.Equal(0, img[y1, x1, 0]);
            Assert.Equal(0, img[y2 - 1, x2 - 1, 2]);
        }
    }

    [Fact]
    public void HoleFollowsAScaleAndTranslationMap()
    {
        var p = new PixelAugmentation { Holes = [(10, 20, 30, 40)] };
        var img = new Image(100, 100, 3);
        Array.Fill(img.Data, (byte)9);
        // Twice as large and moved by (5, 1): pixel squares [9.5, 29.5) -> [24, 64), centres 24..63;
        // rows [19.5, 39.5) -> [40, 80), centres 40..79.
        p.Apply(img, new AffineMatrix(2, 0, 5, 0, 2, 1));
        Assert.Equal(40 * 40, img.Data.Count(b => b == 0) / 3);
        Assert.Equal(0, img[40, 24, 0]);
        Assert.Equal(0, img[79, 63, 0]);
        Assert.Equal(9, img[39, 24, 0]);
        Assert.Equal(9, img[40, 64, 0]);
        Assert.Throws<ArgumentException>(() => p.Apply(img, new AffineMatrix(0, 1, 0, -1, 0, 0)));
    }

    [Fact]
    public void HsvGainsFollowYoloxRules()
    {
        // Gain = trunc(uniform(-1, 1) x delta) x coin: hue in [-4, 4], saturation and value in [-29, 29].
        // P(hue gain = 0) = 1/2 (coin) + 1/2 x P(|u| < 1/5) = 1/2 + 1/2 x 1/5 = 0.6.
        var options = TopdownAugmentation.None with { HsvProb = 1 };
        int zeroHue = 0;
        const int n = 6000;
        for (int i = 0; i < n; i++)
        {
            var g = PixelAugmentation.Draw(options, (192, 256), new SampleRandom(5, 0, i)).HsvGains!.Value;
            Assert.InRange(g.Hue, -4, 4);
            Assert.InRange(g.Saturation, -29, 29);
            Assert.InRange(g.Value, -29, 29);
            if (g.Hue == 0) zeroHue++;
        }
        Assert.InRange(zeroHue / (double)n, 0.57, 0.63);
        Assert.Null(PixelAugmentation.Draw(TopdownAugmentation.None, (192, 256), new SampleRandom(1)).HsvGains);
    }

    [Fact]
    public void BlurKernelsAreOddSizesFromTheLimit()
    {
        var options = TopdownAugmentation.None with { BlurProb = 0.1, MedianBlurProb = 1 };
        var blurCounts = new Dictionary<int, int>();
        int blurred = 0;
        const int n = 6000;
        for (int i = 0; i < n; i++)
        {
            var p = PixelAugmentation.Draw(options, (192, 256), new SampleRandom(6, 0, i));
            Assert.Contains(p.MedianBlurKernel!.Value, new[] { 3, 5, 7 });
            if (p.BlurKernel is { } k)
            {
                blurred++;
                blurCounts[k] = blurCounts.GetValueOrDefault(k) + 1;
            }
        }
        // p = 0.1: 600 expected, sd about 23.
        Assert.InRange(blurred, 500, 700);
        Assert.Equal([3, 5, 7], blurCounts.Keys.Order());
    }

    [Fact]
    public void TurningOneStepOffLeavesTheOthersDrawsAlone()
    {
        var all = PixelAugmentation.Draw(TopdownAugmentation.RtmposeStage1 with { BlurProb = 1, MedianBlurProb = 1 }, (192, 256), new SampleRandom(8));
        var noHsv = PixelAugmentation.Draw(TopdownAugmentation.RtmposeStage1 with { BlurProb = 1, MedianBlurProb = 1, HsvProb = 0 }, (192, 256), new SampleRandom(8));
        Assert.Null(noHsv.HsvGains);
        Assert.Equal(all.BlurKernel, noHsv.BlurKernel);
        Assert.Equal(all.MedianBlurKernel, noHsv.MedianBlurKernel);
        Assert.Equal(all.Holes, noHsv.Holes);
    }
}
