using Distill.Pose.Evaluation;

namespace Distill.Pose.Tests.Evaluation;

public class ObjectKeypointSimilarityTests
{
    [Fact]
    public void TwoKeypointsByHand()
    {
        // sigmas (0.05, 0.1) -> k = (0.1, 0.2), k^2 = (0.01, 0.04); s^2 = area = 400.
        // keypoint 0: GT (10, 10), prediction (12, 12): d^2 = 4 + 4 = 8;   e = 8 / (2 * 400 * 0.01) = 1
        // keypoint 1: GT (20, 20), prediction (23, 24): d^2 = 9 + 16 = 25; e = 25 / (2 * 400 * 0.04) = 0.78125
        // OKS = (exp(-1) + exp(-0.78125)) / 2 = (0.36787944 + 0.45783336) / 2 = 0.41285640147
        double oks = ObjectKeypointSimilarity.Compute(
            [10, 10, 2, 20, 20, 1], 400, [0, 0, 30, 30], [12, 12, 0.9, 23, 24, 0.1], [0.05, 0.1]);
        Assert.Equal(0.4128564014715283, oks, 12);
    }

    [Fact]
    public void UnlabelledKeypointsDoNotCount()
    {
        // Keypoint 1 has v = 0, so only keypoint 0 counts: OKS = exp(-1) = 0.36787944117.
        double oks = ObjectKeypointSimilarity.Compute(
            [10, 10, 2, 0, 0, 0], 400, [0, 0, 30, 30], [12, 12, 1, 500, 500, 1], [0.05, 0.1]);
        Assert.Equal(0.36787944117144233, oks, 12);
    }

    [Fact]
    public void NoLabelledKeypointUsesDistanceOutsideEnlargedBox()
    {
        // bbox (10, 20, 30, 40) -> region x in [10 - 30, 10 + 60] = [-20, 70], y in [20 - 40, 20 + 80] = [-20, 100].
        // Prediction (80, 50): dx = 80 - 70 = 10, dy = 0. sigma 0.1 -> k^2 = 0.04; area 1000.
        // e = 100 / (2 * 1000 * 0.04) = 1.25; OKS = exp(-1.25) = 0.28650479686
        double outside = ObjectKeypointSimilarity.Compute([0, 0, 0], 1000, [10, 20, 30, 40], [80, 50, 1], [0.1]);
        Assert.Equal(0.2865047968601901, outside, 12);
        // Inside the region the distance is 0 and OKS is 1.
        double inside = ObjectKeypointSimilarity.Compute([0, 0, 0], 1000, [10, 20, 30, 40], [-15, 95, 1], [0.1]);
        Assert.Equal(1.0, inside, 15);
    }

    [Fact]
    public void BetweenPredictionsUsesMeanAreaAndAllKeypoints()
    {
        // Areas 300 and 500 -> s^2 = 400. Same two displacements as the by-hand case above, score ignored:
        // OKS = (exp(-1) + exp(-0.78125)) / 2.
        double oks = ObjectKeypointSimilarity.BetweenPredictions(
            [10, 10, 0.0, 20, 20, 0.0], 300, [12, 12, 0.0, 23, 24, 0.0], 500, [0.05, 0.1]);
        Assert.Equal(0.4128564014715283, oks, 12);
    }

    [Fact]
    public void WrongLengthIsRejected()
    {
        Assert.Throws<ArgumentException>(() =>
            ObjectKeypointSimilarity.Compute([1, 2, 3], 1, [0, 0, 1, 1], [1, 2, 3], [0.1, 0.1]));
    }
}
