using Distill.Pose.Datasets;
using Distill.Pose.Evaluation;

namespace Distill.Pose.Tests.Evaluation;

public class TopdownResultScoringTests
{
    // Two keypoints, sigma 0.25 (k^2 = 0.25); 10 x 10 boxes give area 100, so a rigid shift by d has
    // OKS exp(-d^2 / (2 * 100 * 0.25)) = exp(-d^2 / 50), as in OksNmsTests.
    private static readonly double[] Sigmas = [0.25, 0.25];
    private static readonly BoundingBox Box = new(0, 0, 10, 10);

    private static double[] Person(double dx, double s0, double s1) => [0 + dx, 0, s0, 10 + dx, 0, s1];

    [Fact]
    public void RescoresThenSuppressesPerImageAsWorkedByHand()
    {
        var predictions = new TopdownPrediction[]
        {
            // A, image 1: 0.8 x mean(0.9) = 0.72 (0.1 is not above 0.2).
            new(1, Box, 0.8, Person(0, 0.1, 0.9)),
            // C, image 2: A's pose, but no keypoint score above 0.2 -> 0; another image, so A cannot suppress it.
            new(2, Box, 0.5, Person(0, 0.2, 0.1)),
            // B, image 1: 1.0 x mean(0.5, 0.3) = 0.4; shifted by 1 from A: OKS exp(-1/50) = 0.980 > 0.9 -> dropped,
            // although its box score (1.0) is the highest: ranking uses the rescored value.
            new(1, Box, 1.0, Person(1, 0.5, 0.3)),
            // D, image 1: 0.9 x 0.6 = 0.54; shifted by 3 from A: OKS exp(-9/50) = 0.835 -> kept.
            new(1, Box, 0.9, Person(3, 0.6, 0.6)),
        };
        var kept = TopdownResultScoring.Apply(predictions, Sigmas);
        // Image 1 first (seen first), highest score first within it; then image 2.
        Assert.Equal([0, 3, 1], kept.Select(k => k.Index));
        Assert.Equal(0.72, kept[0].Score, 12);
        Assert.Equal(0.54, kept[1].Score, 12);
        Assert.Equal(0.0, kept[2].Score);
    }

    [Fact]
    public void TheBoxAreaIsTheNmsScale()
    {
        // Shift 1 between two people: with 10 x 10 boxes OKS is 0.980 (suppressed); with 2 x 2 boxes (area 4)
        // it is exp(-1 / (2 * 4 * 0.25)) = exp(-0.5) = 0.607 (both kept).
        var small = new BoundingBox(0, 0, 2, 2);
        var large = TopdownResultScoring.Apply([new(7, Box, 1, Person(0, 0.9, 0.9)), new(7, Box, 0.5, Person(1, 0.9, 0.9))], Sigmas);
        var tight = TopdownResultScoring.Apply([new(7, small, 1, Person(0, 0.9, 0.9)), new(7, small, 0.5, Person(1, 0.9, 0.9))], Sigmas);
        Assert.Single(large);
        Assert.Equal(2, tight.Count);
    }

    [Fact]
    public void KeypointsOfTheWrongLengthAreRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => TopdownResultScoring.Apply([new(1, Box, 1, [0, 0, 1])], Sigmas));
        Assert.Contains("prediction 0", e.Message);
    }
}
