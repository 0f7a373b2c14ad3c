using Distill.Pose.Codecs;
using Distill.Pose.Keypoints;
using Distill.Pose.Losses;
using Distill.Pose.Models;
using Distill.Pose.Models.Backbones;
using Distill.Pose.Models.Heads;
using Distill.Pose.Transforms;
using Distill.Torch;
using Distill.Training.Config.Schema;
using Distill.Training.Distillation;
using Distill.Training.Tests.Engine;

namespace Distill.Training.Tests.Distillation;

/// <summary>
/// A heatmap teacher's targets for a SimCC student, from heatmaps written by hand: a network whose "backbone" returns
/// fixed maps and whose head is an identity 1x1 convolution outputs exactly those heatmaps, so the x and y marginals
/// the student is taught can be predicted from the codecs' pixel conventions alone.
/// </summary>
/// <remarks>Building the networks draws from libtorch's global generator, so this joins the trainer runs' collection.</remarks>
[Collection(TrainerCollection.Name)]
public sealed class HeatmapTeacherTargetsTests
{
    private const int MpiiHeadTop = 9, MpiiRightAnkle = 0;
    private const int UnifiedHeadTop = 20, UnifiedRightAnkle = 16, UnifiedRightKnee = 14;

    /// <summary>Returns the same feature maps whatever the input.</summary>
    private sealed class FixedFeatures : Backbone
    {
        private readonly Tensor _maps;

        public FixedFeatures(Tensor maps) => _maps = RegisterBuffer("maps", maps);

        public override long[] OutChannels => [_maps.Size(1)];
        public override int[] OutStrides => [4];
        public override Tensor[] Forward(Tensor x) => [_maps.Clone()];
    }

    /// <summary>An MPII teacher that outputs <paramref name="heatmaps"/> (B, 16, h, w) for <paramref name="codec"/>.</summary>
    private static TeacherModel Teacher(float[] heatmaps, int batch, HeatmapCodec codec, KeypointSet student)
    {
        var mpii = KeypointSet.FromName("mpii16");
        int k = mpii.Count;
        var (w, h) = codec.HeatmapSize;
        var head = new HeatmapHead(k, k, deconvOutChannels: [], convOutChannels: []);
        using (Autograd.NoGrad())
        {
            using var eye = torch.Eye(k).View(k, k, 1, 1);
            head.FinalLayer.Weight.Copy_(eye);
            head.FinalLayer.Bias!.Zero_();
        }
        var model = new TopdownPoseEstimator(new FixedFeatures(torch.FromArray(heatmaps, [batch, k, h, w])), head, codec, mpii.FlipIndices);
        return TeacherModel.Create(new TeacherOptions { Name = "hm" }, model, mpii, student, Device.Cpu);
    }

    /// <summary>
    /// What a heatmap of one hot pixel at <paramref name="pixel"/> becomes on one student axis, by hand: student bin i
    /// is student pixel i / 2 (SimCC, 2 bins per pixel), teacher pixel a (i / 2) + b, and heatmap position
    /// (a (i / 2) + b) / <paramref name="pixelsPerHeatmapPixel"/>; linear interpolation between heatmap pixels gives it
    /// the weight max(0, 1 - |position - pixel|); the bins are then normalised.
    /// </summary>
    private static double[] Hat(int bins, double a, double b, double pixelsPerHeatmapPixel, int pixel)
    {
        var p = Enumerable.Range(0, bins).Select(i => Math.Max(0, 1 - Math.Abs((a * (i / 2.0) + b) / pixelsPerHeatmapPixel - pixel))).ToArray();
        double sum = p.Sum();
        return p.Select(v => v / sum).ToArray();
    }

    private static float[] Row(Tensor t, int sample, int keypoint)
    {
        long bins = t.Size(2);
        return t.ToArray<float>().AsSpan((int)((sample * t.Size(1) + keypoint) * bins), (int)bins).ToArray();
    }

    private static void AssertClose(double[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-6, $"{what}: bin {i} is {actual[i]}, expected {expected[i]}");
    }

    [Fact]
    public void MsraHeatmapsBecomeStudentMarginalsAtTheSameImagePoint()
    {
        using var scope = torch.NewDisposeScope();
        // Teacher: 64x64 input, 16x16 MSRA heatmaps (heatmap pixel j is input pixel 4j). Student: 64x64, 128 bins a side.
        var codec = new MSRAHeatmap((64, 64), (16, 16), 2.0);
        var unified = KeypointSet.FromName("unified21");
        const int batch = 2, k = 16, hw = 16;
        var maps = new float[batch * k * hw * hw];
        void Set(int n, int kp, int x, int y, float v) => maps[((n * k + kp) * hw + y) * hw + x] = v;
        for (int n = 0; n < batch; n++)
        {
            // head_top: one hot pixel at (5, 9) on a negative background, which the teacher's positive part ignores.
            for (int y = 0; y < hw; y++)
                for (int x = 0; x < hw; x++)
                    Set(n, MpiiHeadTop, x, y, -0.25f);
            Set(n, MpiiHeadTop, 5, 9, 1f);
            // right_ankle: a Gaussian (sigma 1.2 heatmap pixels) about (6.6, 7.3), over 5 sigma from every edge.
            for (int y = 0; y < hw; y++)
                for (int x = 0; x < hw; x++)
                    Set(n, MpiiRightAnkle, x, y, (float)Math.Exp(-((x - 6.6) * (x - 6.6) + (y - 7.3) * (y - 7.3)) / (2 * 1.2 * 1.2)));
        }
        using var teacher = Teacher(maps, batch, codec, unified);
        // Sample 0: the crops coincide. Sample 1: the student crop is a 2x zoom, student pixel s = teacher pixel s / 2 + (8, 12).
        var geometry = new[] { AffineMatrix.Identity, new AffineMatrix(0.5, 0, 8, 0, 0.5, 12) };
        var studentCodec = new SimCCLabel((64, 64), (2.0, 2.0), 2.0, normalize: false);
        using var t = teacher.Targets(torch.Zeros([batch, 3, 64, 64]), geometry, studentCodec, new LogitKDLoss());
        Assert.Equal(new long[] { batch, 21, 128 }, t.ProbX.Shape);
        Assert.Equal(new long[] { batch, 21, 128 }, t.ProbY.Shape);

        // head_top at heatmap (5, 9) is input pixel (20, 36): student bins (40, 72) when the crops coincide, a triangle
        // 8 bins wide a side (one heatmap pixel is 8 bins) whose weights 1 - d/8 sum to 8.
        var x0 = Row(t.ProbX, 0, UnifiedHeadTop);
        Assert.Equal(40, Array.IndexOf(x0, x0.Max()));
        Assert.Equal(1.0 / 8, x0[40], 6);
        Assert.Equal(0.5 / 8, x0[44], 6);
        Assert.Equal(0.5 / 8, x0[36], 6);
        Assert.Equal(0.0, x0[48], 6);
        AssertClose(Hat(128, 1, 0, 4, 5), x0, "head_top x, same crop");
        AssertClose(Hat(128, 1, 0, 4, 9), Row(t.ProbY, 0, UnifiedHeadTop), "head_top y, same crop");
        // Zoomed: teacher pixel (20, 36) is student pixel ((20 - 8) * 2, (36 - 12) * 2) = (24, 48), bins (48, 96), 16 bins a side.
        var x1 = Row(t.ProbX, 1, UnifiedHeadTop);
        var y1 = Row(t.ProbY, 1, UnifiedHeadTop);
        Assert.Equal(48, Array.IndexOf(x1, x1.Max()));
        Assert.Equal(96, Array.IndexOf(y1, y1.Max()));
        Assert.Equal(1.0 / 16, x1[48], 6);
        AssertClose(Hat(128, 0.5, 8, 4, 5), x1, "head_top x, zoomed crop");
        AssertClose(Hat(128, 0.5, 12, 4, 9), y1, "head_top y, zoomed crop");

        // The Gaussian's marginal means stay where its centre is: heatmap (6.6, 7.3) = student bins (52.8, 58.4). (Each
        // heatmap pixel spreads over 15 bins with weights symmetric about 8j and summing to 8, so the mean bin is exactly
        // 8x the heatmap's mean pixel.)
        static double MeanBin(float[] p) => p.Select((v, i) => (double)v * i).Sum() / p.Sum();
        Assert.Equal(52.8, MeanBin(Row(t.ProbX, 0, UnifiedRightAnkle)), 3);
        Assert.Equal(58.4, MeanBin(Row(t.ProbY, 0, UnifiedRightAnkle)), 3);
        Assert.Equal(1.0, Row(t.ProbX, 0, UnifiedRightAnkle).Sum(), 5);

        // The mask: both drawn keypoints lie inside both student crops; a known but blank one (right_knee) and the
        // five the MPII teacher does not know (nose, eyes, ears) are left out, the latter with no target at all.
        var mask = t.Mask.ToArray<float>();
        for (int n = 0; n < batch; n++)
        {
            Assert.Equal(1f, mask[n * 21 + UnifiedHeadTop]);
            Assert.Equal(1f, mask[n * 21 + UnifiedRightAnkle]);
            Assert.Equal(0f, mask[n * 21 + UnifiedRightKnee]);
            for (int kp = 0; kp <= 4; kp++)
            {
                Assert.Equal(0f, mask[n * 21 + kp]);
                Assert.All(Row(t.ProbX, n, kp), v => Assert.Equal(0f, v));
            }
        }
    }

    [Fact]
    public void UdpHeatmapsUseTheirOwnPixelSpacingOnEachAxis()
    {
        using var scope = torch.NewDisposeScope();
        // UDP maps input pixel x to heatmap pixel x (w - 1) / (W - 1) per axis: for 48x64 -> 12x16, one heatmap pixel is
        // 47/11 input pixels across and 63/15 = 4.2 down (not 4 as for MSRA).
        var codec = new UDPHeatmap((48, 64), (12, 16), 2.0);
        const int k = 16;
        var maps = new float[k * 16 * 12];
        maps[(MpiiHeadTop * 16 + 10) * 12 + 5] = 1f; // heatmap (5, 10)
        using var teacher = Teacher(maps, 1, codec, KeypointSet.FromName("unified21"));
        var studentCodec = new SimCCLabel((48, 64), (2.0, 2.0), 2.0, normalize: false);
        using var t = teacher.Targets(torch.Zeros([1, 3, 64, 48]), [AffineMatrix.Identity], studentCodec, new LogitKDLoss());
        var x = Row(t.ProbX, 0, UnifiedHeadTop);
        var y = Row(t.ProbY, 0, UnifiedHeadTop);
        // Heatmap (5, 10) is input (5 * 47/11, 10 * 4.2) = (21.36, 42): student bins (42.7, 84); MSRA spacing would say (40, 80).
        Assert.Equal(43, Array.IndexOf(x, x.Max()));
        Assert.Equal(84, Array.IndexOf(y, y.Max()));
        AssertClose(Hat(96, 1, 0, 47.0 / 11, 5), x, "UDP x");
        AssertClose(Hat(128, 1, 0, 63.0 / 15, 10), y, "UDP y");
    }
}
