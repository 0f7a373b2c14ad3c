using Distill.Pose.Evaluation;

namespace Distill.Pose.Tests.Evaluation;

public class KeypointProjectionTests
{
    // MPII-16 -> unified-21 (COCO 0-16, then 17 pelvis, 18 thorax, 19 upper_neck, 20 head_top).
    private static readonly int[] MpiiToUnified = [16, 14, 12, 11, 13, 15, 17, 18, 19, 20, 10, 8, 6, 5, 7, 9];

    private static double[] Unified() =>
        Enumerable.Range(0, 21).SelectMany(i => new double[] { i * 10, i * 10 + 1, i / 100.0 }).ToArray();

    [Fact]
    public void ProjectsTriplesInSourceOrder()
    {
        var mpii = KeypointProjection.Project<double>(Unified(), MpiiToUnified, 3);
        Assert.Equal(48, mpii.Length);
        Assert.Equal([160.0, 161, 0.16], mpii[..3]);            // r_ankle <- unified 16
        Assert.Equal([200.0, 201, 0.20], mpii[27..30]);        // head_top <- unified 20
        Assert.Equal([90.0, 91, 0.09], mpii[45..48]);          // l_wrist <- unified 9
    }

    [Fact]
    public void ProjectsScoresAndResults()
    {
        var scores = Enumerable.Range(0, 21).Select(i => (float)i).ToArray();
        Assert.Equal([16f, 14f, 12f], KeypointProjection.Project<float>(scores, MpiiToUnified, 1)[..3]);

        var coco = KeypointProjection.Project(new CocoKeypointResult(7, Unified(), 0.9), Enumerable.Range(0, 17).ToArray());
        Assert.Equal(51, coco.Keypoints.Length);
        Assert.Equal(Unified()[..51], coco.Keypoints);
        Assert.Equal(7, coco.ImageId);
    }

    [Fact]
    public void RejectsIndicesOutsideTheUnifiedSet()
    {
        var e = Assert.Throws<ArgumentException>(() => KeypointProjection.Project<double>(Unified(), [0, 21], 3));
        Assert.Contains("source keypoint 1", e.Message);
        Assert.Throws<ArgumentException>(() => KeypointProjection.Project<double>(new double[10], [0], 3));
    }
}
