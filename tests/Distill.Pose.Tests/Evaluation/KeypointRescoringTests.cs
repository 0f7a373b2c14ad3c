using Distill.Pose.Evaluation;

namespace Distill.Pose.Tests.Evaluation;

public class KeypointRescoringTests
{
    [Fact]
    public void MultipliesBoxScoreByMeanOfConfidentKeypoints()
    {
        // Scores above 0.2 (strictly): 0.5 and 0.9 -> mean 0.7; 0.8 x 0.7 = 0.56. 0.2 itself is not above it.
        Assert.Equal(0.56, KeypointRescoring.Rescore(0.8, [0.1, 0.2, 0.5, 0.9]), 12);
    }

    [Fact]
    public void NoConfidentKeypointGivesZero()
    {
        Assert.Equal(0.0, KeypointRescoring.Rescore(0.95, [0.1, 0.2, 0.05]));
    }

    [Fact]
    public void ThresholdIsAParameter()
    {
        // Threshold 0.05: 0.1, 0.2, 0.5 count -> mean 0.8 / 3; x 0.6 = 0.16.
        Assert.Equal(0.16, KeypointRescoring.Rescore(0.6, [0.1, 0.2, 0.5, 0.01], threshold: 0.05), 12);
    }
}
