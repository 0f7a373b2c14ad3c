using Distill.Pose.Evaluation;

namespace Distill.Pose.Tests.Evaluation;

public class MpiiPckhTests
{
    // Two people with 1-based ground truth; predictions are 0-based, so each is (GT - 1 + displacement along x or
    // (dx, dy)) and the default prediction offset of +1 brings it back.
    // Person A: head box (0, 0, 30, 40): diagonal 50, head size 30 -> 0.5 is 15 px, 0.1 is 3 px.
    // Person B: head box (0, 0, 60, 80): diagonal 100, head size 60 -> 0.5 is 30 px, 0.1 is 6 px.
    //
    // joint            A: d (px)  @0.5 @0.1     B: d (px)  @0.5 @0.1
    //  0 r_ankle        0          y    y        20         y    n
    //  1 r_knee         2.9        y    y         5         y    y
    //  2 r_hip          3.1        y    n        40         n    n
    //  3 l_hip         14.9        y    n         0         y    y
    //  4 l_knee        15.1        n    n         0         y    y
    //  5 l_ankle       (9,12)=15   y*   n        invisible
    //  6 pelvis       100          n    n         0         y    y
    //  7 thorax         0          y    y         0         y    y
    //  8 upper_neck     0          y    y        35         n    n
    //  9 head_top      20          n    n        10         y    n
    // 10 r_wrist       invisible                  6         y    y*
    // 11-15             0          y    y         0         y    y
    // (* exactly on the threshold: 15 / 30 = 0.5 and 6 / 60 = 0.1; correct only with the inclusive rule)
    private static readonly double[] DisplacementA = [0, 2.9, 3.1, 14.9, 15.1, double.NaN, 100, 0, 0, 20, 1000, 0, 0, 0, 0, 0];
    private static readonly double[] DisplacementB = [20, 5, 40, 0, 0, 1000, 0, 0, 35, 10, 6, 0, 0, 0, 0, 0];

    private static (double[][] Pred, double[][] Gt, bool[][] Visible, double[] HeadSizes) Case(double offset = 1)
    {
        var gtA = new double[32];
        var gtB = new double[32];
        var predA = new double[32];
        var predB = new double[32];
        for (int j = 0; j < 16; j++)
        {
            gtA[2 * j] = 100 + 10 * j; gtA[2 * j + 1] = 200;
            gtB[2 * j] = 300 + 10 * j; gtB[2 * j + 1] = 400;
            predA[2 * j] = gtA[2 * j] - offset + (j == 5 ? 9 : DisplacementA[j]);
            predA[2 * j + 1] = gtA[2 * j + 1] - offset + (j == 5 ? 12 : 0);
            predB[2 * j] = gtB[2 * j] - offset + DisplacementB[j];
            predB[2 * j + 1] = gtB[2 * j + 1] - offset;
        }
        var visA = Enumerable.Range(0, 16).Select(j => j != 10).ToArray();
        var visB = Enumerable.Range(0, 16).Select(j => j != 5).ToArray();
        return ([predA, predB], [gtA, gtB], [visA, visB],
            [MpiiPckh.HeadSize(0, 0, 30, 40), MpiiPckh.HeadSize(0, 0, 60, 80)]);
    }

    [Fact]
    public void HeadSizeIsSixTenthsOfDiagonal()
    {
        Assert.Equal(30, MpiiPckh.HeadSize(0, 0, 30, 40), 12);
        Assert.Equal(30, MpiiPckh.HeadSize(130, 91, 100, 51), 12);
    }

    [Fact]
    public void HandMadeCaseInclusive()
    {
        var (pred, gt, vis, heads) = Case();
        var r = MpiiPckh.Evaluate(pred, gt, vis, heads);
        double[] expected = [1, 1, 0.5, 1, 0.5, 1, 0.5, 1, 0.5, 0.5, 1, 1, 1, 1, 1, 1];
        double[] expected01 = [0.5, 1, 0, 0.5, 0.5, 0, 0.5, 1, 0.5, 0, 1, 1, 1, 1, 1, 1];
        Assert.Equal(expected, r.PerJoint.ToArray());
        Assert.Equal(expected01, r.PerJointAt01.ToArray());
        Assert.Equal([2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2], r.VisibleCounts.ToArray());
        Assert.Equal(0.5, r.Head);      // joint 9
        Assert.Equal(1.0, r.Shoulder);  // (13 + 12) / 2
        Assert.Equal(1.0, r.Elbow);     // (14 + 11) / 2
        Assert.Equal(1.0, r.Wrist);     // (15 + 10) / 2
        Assert.Equal(0.75, r.Hip);      // (1 + 0.5) / 2
        Assert.Equal(0.75, r.Knee);     // (0.5 + 1) / 2
        Assert.Equal(1.0, r.Ankle);     // (1 + 1) / 2
        // Mean without pelvis and thorax, weighted by visible counts: correct joints 2+2+1+2+1+1+1+1+1+10 = 22
        // of 26 visible (joints 0-5, 8-15). At 0.1: 1+2+0+1+1+0+1+0+1+10 = 17 of 26.
        Assert.Equal(22.0 / 26, r.Mean, 12);
        Assert.Equal(17.0 / 26, r.MeanAt01, 12);
    }

    [Fact]
    public void StrictRuleDropsExactTies()
    {
        var (pred, gt, vis, heads) = Case();
        var r = MpiiPckh.Evaluate(pred, gt, vis, heads, inclusive: false);
        Assert.Equal(0.0, r.PerJoint[5]);      // 15 / 30 = 0.5 is not < 0.5
        Assert.Equal(0.0, r.PerJointAt01[10]); // 6 / 60 = 0.1 is not < 0.1
        Assert.Equal(21.0 / 26, r.Mean, 12);
        Assert.Equal(16.0 / 26, r.MeanAt01, 12);
    }

    [Fact]
    public void PredictionOffsetIsApplied()
    {
        // Predictions already in the ground truth's frame need offset 0 to score the same.
        var (pred, gt, vis, heads) = Case(offset: 0);
        var r = MpiiPckh.Evaluate(pred, gt, vis, heads, predictionOffset: 0);
        Assert.Equal(22.0 / 26, r.Mean, 12);
        // With the default +1 they move by (1, 1): person A's l_hip becomes |(15.9, 1)| = 15.93 px > 15, and the
        // r_knees |(3.9, 1)| = 4.03 px > 3 (A) and |(6, 1)| = 6.08 px > 6 (B) fail at 0.1.
        var shifted = MpiiPckh.Evaluate(pred, gt, vis, heads);
        Assert.Equal(0.5, shifted.PerJoint[3]);
        Assert.Equal(0.0, shifted.PerJointAt01[1]);
    }

    [Fact]
    public void NeverVisibleJointIsNaNAndLeftOutOfMean()
    {
        var (pred, gt, vis, heads) = Case();
        foreach (var v in vis) v[10] = false;
        var r = MpiiPckh.Evaluate(pred, gt, vis, heads);
        Assert.True(double.IsNaN(r.PerJoint[10]));
        Assert.True(double.IsNaN(r.Wrist));
        Assert.Equal(21.0 / 25, r.Mean, 12);
    }

    [Fact]
    public void EvaluatesAgainstMatRecords()
    {
        // Predictions = ground truth - 1 (0-based): every non-missing joint is exact; missing joints are not scored.
        var records = MpiiGroundTruth.Load(EvaluationData.Path("mpii_gt_small_compressed.mat"));
        var pred = records.Select(r => r.Joints.Select(v => v - 1).ToArray()).ToArray();
        pred[2][2 * 6] += 1000; // pelvis of the last record is missing anyway
        var result = MpiiPckh.Evaluate(pred, records);
        Assert.Equal(1.0, result.Mean);
        Assert.Equal([3, 3, 3, 2, 3, 3, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3], result.VisibleCounts.ToArray());
    }

    [Fact]
    public void BadHeadSizeNamesTheInstance()
    {
        var (pred, gt, vis, _) = Case();
        var e = Assert.Throws<ArgumentException>(() => MpiiPckh.Evaluate(pred, gt, vis, [30, 0]));
        Assert.Contains("instance 1", e.Message);
    }
}
