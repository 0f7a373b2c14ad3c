using Distill.Pose.Evaluation;

namespace Distill.Pose.Tests.Evaluation;

public class PckAccuracyTests
{
    // Three keypoints, two people. Boxes (x1, y1, x2, y2): (0, 0, 100, 50) -> size max(100, 50) = 100;
    // (10, 10, 40, 70) -> size max(30, 60) = 60. alpha 0.05 -> 5 px and 3 px.
    // person 1: kp0 off by 4 (0.04, correct), kp1 off by 5 (0.05, on the threshold), kp2 invisible.
    // person 2: kp0 off by 3.5 (0.058, wrong), kp1 off by (3, 0) (0.05, on the threshold), kp2 off by 1 (correct).
    private static readonly double[][] Gt = [[10, 10, 20, 20, 30, 30], [15, 15, 25, 25, 35, 35]];
    private static readonly double[][] Pred = [[14, 10, 20, 25, 99, 99], [15, 18.5, 28, 25, 35, 36]];
    private static readonly bool[][] Visible = [[true, true, false], [true, true, true]];
    private static readonly double[][] Boxes = [[0, 0, 100, 50], [10, 10, 40, 70]];

    [Fact]
    public void BoxNormalisedPckByHand()
    {
        // Strict (mmpose): kp0 1/2, kp1 0/2, kp2 1/1; mean of per-keypoint accuracies (0.5 + 0 + 1) / 3 = 0.5.
        var r = PckAccuracy.ComputeWithBoxes(Pred, Gt, Visible, Boxes);
        Assert.Equal([0.5, 0.0, 1.0], r.PerKeypoint.ToArray());
        Assert.Equal([2, 2, 1], r.Counts.ToArray());
        Assert.Equal(0.5, r.Mean, 12);

        // Inclusive: kp1 becomes 2/2; mean (0.5 + 1 + 1) / 3.
        var inclusive = PckAccuracy.ComputeWithBoxes(Pred, Gt, Visible, Boxes, inclusive: true);
        Assert.Equal(2.5 / 3, inclusive.Mean, 12);
    }

    [Fact]
    public void AlphaIsAParameter()
    {
        // alpha 0.1 -> 10 px and 6 px: everything visible is within.
        Assert.Equal(1.0, PckAccuracy.ComputeWithBoxes(Pred, Gt, Visible, Boxes, alpha: 0.1).Mean);
    }

    [Fact]
    public void EndPointErrorByHand()
    {
        // Visible distances 4, 5, 3.5, 3, 1 -> 16.5 / 5 = 3.3.
        Assert.Equal(3.3, EndPointError.Compute(Pred, Gt, Visible), 12);
    }

    [Fact]
    public void NothingVisibleIsNaN()
    {
        bool[][] none = [[false, false, false], [false, false, false]];
        Assert.True(double.IsNaN(EndPointError.Compute(Pred, Gt, none)));
        Assert.True(double.IsNaN(PckAccuracy.ComputeWithBoxes(Pred, Gt, none, Boxes).Mean));
    }

    [Fact]
    public void DegenerateBoxIsRejected()
    {
        var e = Assert.Throws<ArgumentException>(() =>
            PckAccuracy.ComputeWithBoxes(Pred, Gt, Visible, [[0, 0, 100, 50], [10, 10, 10, 10]]));
        Assert.Contains("instance 1", e.Message);
    }
}
