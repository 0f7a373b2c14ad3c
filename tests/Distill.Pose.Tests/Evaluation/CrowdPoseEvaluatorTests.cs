using Distill.Pose.Evaluation;
using Distill.Pose.Keypoints;

namespace Distill.Pose.Tests.Evaluation;

public class CrowdPoseEvaluatorTests
{
    private static readonly double[] Sigmas = KeypointSet.FromName("crowdpose14").Sigmas;

    /// <summary>A person whose 14 joints lie on a line inside a 100 x 200 box at (x0, 0); all visible.</summary>
    private static CocoKeypointAnnotation Person(long image, long id, double x0, double area) => new(
        image, id, Enumerable.Range(0, 14).SelectMany(j => new double[] { x0 + 10 + 5 * j, 20 + 12 * j, 2 }).ToArray(),
        area, [x0, 0, 100, 200], false, 14);

    private static CocoKeypointResult Prediction(CocoKeypointAnnotation gt, double dx, double score = 1) => new(
        gt.ImageId, gt.Keypoints.Select((v, i) => i % 3 == 0 ? v + dx : v).ToArray(), score);

    [Fact]
    public void ApIsBrokenDownByCrowdIndexAndScaledByTheBox()
    {
        // Images 1 (crowd index 0.1, easy), 2 (0.5, medium), 3 (0.9, hard), one person each. Persons 1 and 3 are
        // predicted 1 px off, person 2 is missed. Their annotated area is a tiny 10 px^2, but CrowdPose scales OKS by
        // the box: s^2 = 100 x 200 x 0.53 = 10600, so for the strictest joint (sigma 0.062, k = 0.124) one pixel gives
        // exp(-1 / (2 x 10600 x 0.124^2)) = 0.9969 and OKS > 0.99: both found at every threshold. By the annotated
        // area it would be exp(-1 / (2 x 10 x 0.124^2)) = 0.039 for that joint, OKS < 0.5, nothing found.
        var gt = new[] { Person(1, 1, 0, 10), Person(2, 2, 0, 10), Person(3, 3, 0, 10) };
        var truth = new CocoKeypointGroundTruth([1, 2, 3], gt);
        var results = new[] { Prediction(gt[0], 1), Prediction(gt[2], 1) };
        var crowd = new Dictionary<long, double> { [1] = 0.1, [2] = 0.5, [3] = 0.9 };

        var s = new CrowdPoseEvaluator(Sigmas).Evaluate(truth, results, crowd);
        // Two of three found with precision 1: recall points 0.00 .. 0.66 (67 of 101) have precision 1, the rest 0.
        Assert.Equal(67.0 / 101, s.AP, 12);
        Assert.Equal(67.0 / 101, s.AP50, 12);
        Assert.Equal(67.0 / 101, s.AP75, 12);
        Assert.Equal(2.0 / 3, s.AR, 12);
        Assert.Equal((1.0, 0.0, 1.0), (s.APEasy, s.APMedium, s.APHard));

        var coco = new CocoKeypointEvaluator(Sigmas).Evaluate(truth, results);
        Assert.Equal(0.0, coco.AP, 12); // the annotated area, as COCO uses it, finds nothing
    }

    [Fact]
    public void PartsFollowTheReferenceBoundsAndRoundToFourDecimals()
    {
        // Crowd index exactly 0.2 is medium and exactly 0.8 hard (easy < 0.2 <= medium < 0.8 <= hard).
        var gt = new[] { Person(1, 1, 0, 10600), Person(2, 2, 0, 10600), Person(2, 3, 300, 10600) };
        var truth = new CocoKeypointGroundTruth([1, 2], gt);
        // Image 2: one hit, then a detection far off with a higher score: precision 0 at first, 1/2 once found.
        var far = gt[2] with { Keypoints = gt[2].Keypoints.Select((v, i) => i % 3 == 0 ? v + 1000 : v).ToArray() };
        var results = new[] { Prediction(gt[0], 0), Prediction(far, 0, 0.9), Prediction(gt[1], 0, 0.5) };
        var s = new CrowdPoseEvaluator(Sigmas).Evaluate(truth, results, new Dictionary<long, double> { [1] = 0.8, [2] = 0.2 });
        Assert.Equal(-1, s.APEasy);
        Assert.Equal(1.0, s.APHard, 12); // image 1: found
        // Image 2: 2 people; the false detection first (P 0), then person 2 (recall 1/2, P 1/2). Interpolated precision
        // is 0.5 for recall points 0.00 .. 0.50 (51 of 101): AP = 51 x 0.5 / 101 = 0.252475..., stored as 0.2525.
        Assert.Equal(0.2525, s.APMedium);
        var missing = Assert.Throws<ArgumentException>(() =>
            new CrowdPoseEvaluator(Sigmas).Evaluate(truth, results, new Dictionary<long, double> { [1] = 0.1 }));
        Assert.Contains("image 2 has no crowd index", missing.Message);
    }
}
