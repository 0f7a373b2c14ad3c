using Distill.Pose.BottomUp;
using Distill.Pose.BottomUp.Decoding;
using Distill.Pose.BottomUp.Encoders;
using Distill.Pose.Evaluation;
using Distill.Pose.Transforms;
using Distill.TestSupport;
using Distill.Torch.Vision;
using Xunit.Abstractions;

namespace Distill.Pose.Tests.BottomUp;

/// <summary>Whole-image preprocessing of bottom-up prediction and the way back from input to image pixels.</summary>
public sealed class WholeImageInputTests(MultiPersonSetFixture set, ITestOutputHelper output) : IClassFixture<MultiPersonSetFixture>
{
    private static readonly CifCafMeta Meta = CifCafMeta.Coco();

    [Fact]
    public void FitScalesTheLongerSideToTheInputAndKeepsTheAspect()
    {
        // 640 x 480 into 385 x 385: scale 385 / 640, so 480 rows become 288.75 -> 289 input rows.
        var g = WholeImageGeometry.Fit(640, 480, (385, 385));
        Assert.Equal(385.0 / 640, g.Scale, 12);
        Assert.Equal(385, g.ContentWidth);
        Assert.Equal(289, g.ContentHeight);
        // A portrait image is limited by its height.
        var p = WholeImageGeometry.Fit(300, 600, (257, 385));
        Assert.Equal(385.0 / 600, p.Scale, 12);
        Assert.Equal(193, p.ContentWidth); // 300 x 0.641666 = 192.5
        Assert.Equal(385, p.ContentHeight);
        // Small images are scaled up.
        var s = WholeImageGeometry.Fit(100, 50, (385, 385));
        Assert.Equal(3.85, s.Scale, 12);
        Assert.Equal((26.0, 13.0), s.InputToImage(100.1, 50.05), new ToleranceComparer(1e-9));
    }

    [Fact]
    public void PrepareNormalisesTheImageAndPadsWithZeros()
    {
        // A uniform 4 x 2 image (bilinear scaling keeps it uniform) into an 8 x 8 input: scale 2, 8 x 4 content.
        var img = new Image(2, 4);
        for (int y = 0; y < 2; y++)
            for (int x = 0; x < 4; x++)
            {
                img[y, x, 0] = 200;
                img[y, x, 1] = 100;
                img[y, x, 2] = 10;
            }
        var norm = new ImageNormalization();
        var (input, g) = WholeImageInput.Prepare(img, (8, 8), norm);
        Assert.Equal(2.0, g.Scale);
        Assert.Equal((8, 4), (g.ContentWidth, g.ContentHeight));
        double[] expected = [(200 - 123.675) / 58.395, (100 - 116.28) / 57.12, (10 - 103.53) / 57.375];
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 8; y++)
                for (int x = 0; x < 8; x++)
                {
                    float v = input[c * 64 + y * 8 + x];
                    // The last scaled row and column sample half a source pixel past the edge, where the warp
                    // blends in its border; everything else of the content is the uniform colour.
                    if (y < 3 && x < 7) Assert.Equal(expected[c], v, 5);
                    else if (y >= 4) Assert.Equal(0f, v);
                }
    }

    [Fact]
    public void PrepareMatchesTheScaledImageOnRealPhotos()
    {
        var norm = new ImageNormalization();
        var files = Directory.GetFiles(SharedData.Data("coco"), "*.jpg");
        Assert.NotEmpty(files);
        foreach (var file in files)
        {
            var img = Image.Read(file);
            var (input, g) = WholeImageInput.Prepare(img, (385, 385), norm);
            Assert.Equal(385, Math.Max(g.ContentWidth, g.ContentHeight));
            // Input pixel (x, y) is image pixel (x, y) / scale: sample a few interior points by nearest neighbour
            // where the image is locally flat enough; everywhere else just the padding.
            int plane = 385 * 385;
            for (int y = 0; y < 385; y++)
                for (int x = 0; x < 385; x++)
                    if (x >= g.ContentWidth || y >= g.ContentHeight)
                        for (int c = 0; c < 3; c++) Assert.Equal(0f, input[c * plane + y * 385 + x]);
            var scaled = img.WarpAffine([g.Scale, 0, 0, 0, g.Scale, 0], g.ContentWidth, g.ContentHeight);
            var chw = norm.ToChw(scaled);
            for (int c = 0; c < 3; c++)
                for (int y = 0; y < g.ContentHeight; y += 7)
                    for (int x = 0; x < g.ContentWidth; x += 5)
                        Assert.Equal(chw[c * g.ContentWidth * g.ContentHeight + y * g.ContentWidth + x], input[c * plane + y * 385 + x]);
        }
    }

    /// <summary>
    /// A perfect network: the encoders' targets for each scene as it lands in a 385 x 385 input, read as head output,
    /// through the decoder and back to image pixels (what predict does after the forward). The decoded people must
    /// score AP &gt;= 0.95 against the annotations in image pixels, and the labelled joints they find must sit within
    /// a pixel of the annotation.
    /// </summary>
    [Theory]
    [InlineData(8, 385, 385)]
    [InlineData(4, 321, 241)]
    public void PerfectFieldsMapBackToTheAnnotatedJoints(int stride, int inputWidth, int inputHeight)
    {
        var cifEncoder = new CifEncoder(Meta, stride);
        var cafEncoder = new CafEncoder(Meta, stride);
        var decoder = new CifCafDecoder(Meta);
        var results = new List<CocoKeypointResult>();
        int joints = 0, within = 0;
        double worst = 0;
        foreach (long id in set.GroundTruth.ImageIds)
        {
            var (w, h) = set.Sizes[id];
            var g = WholeImageGeometry.Fit(w, h, (inputWidth, inputHeight));
            var anns = set.Annotations(id);
            var scaled = anns.Select(a => Scaled(a, g.Scale)).ToList();
            var cif = TargetAsOutput.Cif(cifEncoder.Encode(scaled, inputWidth, inputHeight));
            var caf = TargetAsOutput.Caf(cafEncoder.Encode(scaled, inputWidth, inputHeight));
            var poses = decoder.Decode(cif, caf, stride).Select(p => g.ToImage(p, id)).ToList();
            foreach (var p in poses)
                for (int k = 0; k < Meta.NumKeypoints; k++)
                {
                    Assert.InRange(p.Keypoints[3 * k], 0, w);
                    Assert.InRange(p.Keypoints[3 * k + 1], 0, h);
                }
            results.AddRange(poses);
            // Each annotated person's labelled joints against the pose that lies nearest to them.
            foreach (var a in anns.Where(a => !a.IsCrowd && a.Keypoints.Where((_, i) => i % 3 == 2).Count(v => v > 0) >= 3))
            {
                var best = poses.MinBy(p => MeanDistance(a, p));
                if (best is null) continue;
                for (int k = 0; k < Meta.NumKeypoints; k++)
                {
                    if (a.Keypoints[3 * k + 2] < 2 || best.Keypoints[3 * k + 2] < 0.5) continue;
                    double d = Math.Sqrt(Sq(a.Keypoints[3 * k] - best.Keypoints[3 * k]) + Sq(a.Keypoints[3 * k + 1] - best.Keypoints[3 * k + 1]));
                    joints++;
                    if (d <= 1.0) within++;
                    worst = Math.Max(worst, d);
                }
            }
        }
        var stats = new CocoKeypointEvaluator(Meta.Sigmas).Evaluate(set.GroundTruth, results);
        output.WriteLine($"stride {stride}, input {inputWidth}x{inputHeight}: AP {stats.AP:F4}, {within}/{joints} confident visible joints within 1 px (worst {worst:F2} px)");
        Assert.True(stats.AP >= 0.95, $"AP {stats.AP:F4}");
        Assert.True(joints > 100, $"only {joints} joints compared");
        Assert.True(within >= 0.98 * joints, $"{within}/{joints} joints within 1 px (worst {worst:F2} px)");
    }

    private static FieldAnnotation Scaled(FieldAnnotation a, double s)
    {
        var k = (float[])a.Keypoints.Clone();
        for (int i = 0; i < a.KeypointCount; i++)
        {
            k[3 * i] = (float)(k[3 * i] * s);
            k[3 * i + 1] = (float)(k[3 * i + 1] * s);
        }
        return a with { Keypoints = k, Bbox = (a.Bbox.X * s, a.Bbox.Y * s, a.Bbox.W * s, a.Bbox.H * s) };
    }

    private static double MeanDistance(FieldAnnotation a, CocoKeypointResult p)
    {
        double sum = 0;
        int n = 0;
        for (int k = 0; k < a.KeypointCount; k++)
        {
            if (a.Keypoints[3 * k + 2] <= 0) continue;
            sum += Math.Sqrt(Sq(a.Keypoints[3 * k] - p.Keypoints[3 * k]) + Sq(a.Keypoints[3 * k + 1] - p.Keypoints[3 * k + 1]));
            n++;
        }
        return n == 0 ? double.MaxValue : sum / n;
    }

    private static double Sq(double v) => v * v;

    private sealed class ToleranceComparer(double tolerance) : IEqualityComparer<(double, double)>
    {
        public bool Equals((double, double) a, (double, double) b) => Math.Abs(a.Item1 - b.Item1) <= tolerance && Math.Abs(a.Item2 - b.Item2) <= tolerance;

        public int GetHashCode((double, double) obj) => 0;
    }
}
