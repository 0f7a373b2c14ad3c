using Distill.Pose.Codecs;
using Distill.Pose.Transforms;
using Distill.Torch.Vision;

namespace Distill.Pose.Tests.Transforms;

public class TopdownPipelineTests
{
    private static readonly SimCCLabel Codec = new((192, 256), (4.9, 5.66), normalize: false);

    private static TopdownPipeline Pipeline(params (int, int)[] teachers) => new(new TopdownPipelineOptions
    {
        InputSize = (192, 256),
        Codec = Codec,
        FlipIndices = DotScene.FlipIndices,
        UpperBodyIds = [0, 1, 2, 3, 4],
        LowerBodyIds = [5, 6],
        TeacherInputSizes = teachers,
    });

    /// <summary>Flip, shift, scale and rotation on; pixel noise and half body off so the dots stay clean.</summary>
    private static readonly TopdownAugmentation Geometric = TopdownAugmentation.None with
    {
        FlipProb = 0.5, ShiftProb = 1, ScaleProb = 1, RotateProb = 1,
    };

    [Fact]
    public void EvaluationCropMatchesHandComputedGeometry()
    {
        // Box (176, 52, 160, 280): centre (256, 192), padded scale (200, 350), aspect 0.75 -> (262.5, 350).
        // k = 192 / 262.5 = 0.7314286. Keypoint 1 (290.3, 150.7) -> (96 + k x 34.3, 128 - k x 41.3) = (121.088, 97.792).
        var result = Pipeline().Process(DotScene.Sample(), DotScene.Sample().Image!, TopdownAugmentation.None, 1, 0, 0);
        Assert.Equal((256.0, 192.0), result.Geometry.Center);
        Assert.Equal(262.5, result.Geometry.Scale.Width, 9);
        Assert.Equal(350.0, result.Geometry.Scale.Height, 9);
        Assert.Equal(0.0, result.Geometry.Rotation);
        Assert.False(result.Geometry.Flipped);
        Assert.Equal(121.088, result.Keypoints[2], 3);
        Assert.Equal(97.792, result.Keypoints[3], 3);

        // The codec saw the crop keypoints: x bin round(2 x 121.088) = 242, y bin round(2 x 97.792) = 196.
        var xLabels = result.Target![TargetNames.KeypointXLabels];
        var yLabels = result.Target[TargetNames.KeypointYLabels];
        Assert.Equal(242, ArgMax(xLabels.Data.AsSpan(384, 384)));
        Assert.Equal(196, ArgMax(yLabels.Data.AsSpan(512, 512)));

        // Normalisation: a background pixel (20, 20, 20) -> ((20 - 123.675) / 58.395, (20 - 116.28) / 57.12, ...).
        Assert.Equal((20 - 123.675) / 58.395, result.Input[0], 5);
        Assert.Equal((20 - 116.28) / 57.12, result.Input[192 * 256], 5);
        Assert.Equal((20 - 103.53) / 57.375, result.Input[2 * 192 * 256], 5);
    }

    [Fact]
    public void RenderedDotsLandOnTheTransformedKeypoints()
    {
        var image = DotScene.Render();
        var pipeline = Pipeline();
        int flipped = 0, rotated = 0, checkedPoints = 0;
        for (ulong seed = 0; seed < 16; seed++)
        {
            var result = pipeline.Process(DotScene.Sample(image), image, Geometric, seed, 0, 0);
            if (result.Geometry.Flipped) flipped++;
            if (Math.Abs(result.Geometry.Rotation) > 20) rotated++;
            for (int i = 0; i < 7; i++)
            {
                double x = result.Keypoints[2 * i], y = result.Keypoints[2 * i + 1];
                if (x < 8 || y < 8 || x > 192 - 9 || y > 256 - 9) continue;
                // After a flip, keypoint i holds the mirrored position of keypoint flip[i], whose dot has that colour.
                // Dot centroids come within about 0.3 px; 0.5 px also catches mirroring with w - x instead of w - 1 - x.
                int source = result.Geometry.Flipped ? DotScene.FlipIndices[i] : i;
                var dot = DotScene.FindDot(result.Crop, DotScene.Channel[source], x, y);
                Assert.True(dot.Mass > 300, $"seed {seed}: no dot of keypoint {i} near ({x:F1}, {y:F1}) in the crop");
                double error = Math.Sqrt((dot.X - x) * (dot.X - x) + (dot.Y - y) * (dot.Y - y));
                Assert.True(error <= 0.5, $"seed {seed}: keypoint {i} expected at ({x:F2}, {y:F2}), dot at ({dot.X:F2}, {dot.Y:F2})");
                // Left and right dots differ in colour: the unswapped colour must be absent.
                if (DotScene.Channel[i] != 2 && result.Geometry.Flipped)
                    Assert.True(DotScene.FindDot(result.Crop, DotScene.Channel[i], x, y).Mass < 50, $"seed {seed}: keypoint {i} not swapped");
                checkedPoints++;
            }
        }
        Assert.InRange(flipped, 1, 15);
        Assert.True(rotated > 0);
        Assert.True(checkedPoints > 60, $"only {checkedPoints} keypoints fell inside the crops");
    }

    [Fact]
    public void FlipSwapsSampleKeypointWeights()
    {
        var weights = new float[] { 1, 2, 3, 4, 5, 6, 7 };
        var sample = DotScene.Sample(weights: weights);
        var result = Pipeline().Process(sample, sample.Image!, TopdownAugmentation.None with { FlipProb = 1 }, 0, 0, 0);
        Assert.True(result.Geometry.Flipped);
        Assert.Equal([1f, 3, 2, 5, 4, 7, 6], result.KeypointWeights);
        // The sample itself is untouched.
        Assert.Equal([1f, 2, 3, 4, 5, 6, 7], weights);
        Assert.Equal(DotScene.Keypoints, sample.Keypoints);
    }

    [Fact]
    public void SameSeedEpochAndIndexGiveIdenticalResults()
    {
        var image = DotScene.Render();
        var pipeline = Pipeline((256, 256));
        var a = pipeline.Process(DotScene.Sample(image), image, TopdownAugmentation.RtmposeStage1, 9, 4, 123);
        var b = pipeline.Process(DotScene.Sample(image), image, TopdownAugmentation.RtmposeStage1, 9, 4, 123);
        var c = pipeline.Process(DotScene.Sample(image), image, TopdownAugmentation.RtmposeStage1, 9, 4, 124);
        Assert.Equal(a.Crop.Data, b.Crop.Data);
        Assert.Equal(a.Input, b.Input);
        Assert.Equal(a.Teachers[0].Input, b.Teachers[0].Input);
        Assert.Equal(a.Target![TargetNames.KeypointXLabels].Data, b.Target![TargetNames.KeypointXLabels].Data);
        Assert.Equal(a.Geometry, b.Geometry);
        Assert.NotEqual(a.Crop.Data, c.Crop.Data);
    }

    [Fact]
    public void TeacherCropShowsTheSameDotsWhereTheMapSays()
    {
        var image = DotScene.Render();
        var pipeline = Pipeline((256, 256), (288, 384));
        int checkedPoints = 0;
        for (ulong seed = 0; seed < 8; seed++)
        {
            var result = pipeline.Process(DotScene.Sample(image), image, Geometric, seed, 1, 5);
            Assert.Equal(2, result.Teachers.Count);
            // 256 x 256: same pixel density, offset (32, 0) (see CropGeometryTests); 288 x 384: x 1.5 about the origin.
            Assert.True(result.Teachers[0].StudentToTeacher.ApproximatelyEquals(new AffineMatrix(1, 0, 32, 0, 1, 0), 1e-9));
            Assert.True(result.Teachers[1].StudentToTeacher.ApproximatelyEquals(new AffineMatrix(1.5, 0, 0, 0, 1.5, 0), 1e-9));
            foreach (var teacher in result.Teachers)
            {
                Assert.Equal(result.Geometry.Center, teacher.Geometry.Center);
                Assert.Equal(result.Geometry.Rotation, teacher.Geometry.Rotation);
                Assert.Equal(result.Geometry.Flipped, teacher.Geometry.Flipped);
                var (tw, th) = teacher.Geometry.OutputSize;
                for (int i = 0; i < 7; i++)
                {
                    var (x, y) = teacher.StudentToTeacher.Apply(result.Keypoints[2 * i], result.Keypoints[2 * i + 1]);
                    if (x < 8 || y < 8 || x > tw - 9 || y > th - 9) continue;
                    int source = result.Geometry.Flipped ? DotScene.FlipIndices[i] : i;
                    var dot = DotScene.FindDot(teacher.Crop, DotScene.Channel[source], x, y, radius: 8);
                    Assert.True(dot.Mass > 300, $"seed {seed}: no dot of keypoint {i} in the {tw}x{th} teacher crop");
                    double error = Math.Sqrt((dot.X - x) * (dot.X - x) + (dot.Y - y) * (dot.Y - y));
                    Assert.True(error <= 0.5, $"seed {seed}: teacher keypoint {i} expected at ({x:F2}, {y:F2}), dot at ({dot.X:F2}, {dot.Y:F2})");
                    checkedPoints++;
                }
            }
        }
        Assert.True(checkedPoints > 60);
    }

    [Fact]
    public void TeacherCropsShareTheDropoutHole()
    {
        var image = new Image(DotScene.Height, DotScene.Width, 3);
        Array.Fill(image.Data, (byte)200);
        var options = TopdownAugmentation.None with { CoarseDropoutProb = 1 };
        var result = Pipeline((256, 256)).Process(DotScene.Sample(image), image, options, 3, 0, 0);
        var (x1, y1, x2, y2) = Assert.Single(result.PixelAugmentation.Holes);
        var teacher = result.Teachers[0].Crop;
        // The student hole shifted by (32, 0) is black in the teacher crop; the pixels just outside are not.
        for (int y = y1; y < y2; y++)
            for (int x = x1; x < x2; x++)
            {
                Assert.Equal(0, result.Crop[y, x, 0]);
                Assert.Equal(0, teacher[y, x + 32, 1]);
            }
        Assert.Equal(200, teacher[y1, x1 + 31, 0]);
        Assert.Equal(200, teacher[y1, x2 + 32, 0]);
        Assert.Equal(200, teacher[y1 > 0 ? y1 - 1 : y2, x1 + 32, 0]);
    }

    [Fact]
    public void MismatchedSamplesAreRejectedWithTheirId()
    {
        var sample = DotScene.Sample() with { Id = "ann-77", Visibility = [1, 1] };
        var e = Assert.Throws<ArgumentException>(() => Pipeline().Process(sample, sample.Image!, TopdownAugmentation.None, 0, 0, 0));
        Assert.Contains("ann-77", e.Message);
        var noFlip = new TopdownPipeline(new TopdownPipelineOptions { InputSize = (192, 256) });
        Assert.Throws<InvalidOperationException>(() => noFlip.Process(DotScene.Sample(), DotScene.Render(), TopdownAugmentation.RtmposeStage1, 0, 0, 0));
        Assert.Throws<ArgumentException>(() => new TopdownPipeline(new TopdownPipelineOptions { InputSize = (256, 256), Codec = Codec }));
    }

    private static int ArgMax(ReadOnlySpan<float> v)
    {
        int best = 0;
        for (int i = 1; i < v.Length; i++) if (v[i] > v[best]) best = i;
        return best;
    }
}
