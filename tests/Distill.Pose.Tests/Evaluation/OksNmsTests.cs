using Distill.Pose.Evaluation;

namespace Distill.Pose.Tests.Evaluation;

public class OksNmsTests
{
    // Two keypoints, sigma 0.25 -> k^2 = 0.25; every area 100 -> s^2 = 100.
    // OKS for a rigid shift by d: exp(-d^2 / (2 * 100 * 0.25)) = exp(-d^2 / 50).
    private static readonly double[] Sigmas = [0.25, 0.25];

    private static double[] Person(double dx) => [0 + dx, 0, 1, 10 + dx, 0, 1];

    [Fact]
    public void KeepsAndSuppressesAsWorkedByHand()
    {
        // A (0.9) at shift 0; B (0.8) at 1; C (0.7) at 3; D (0.6) at 3.5. Given in the order D, B, A, C.
        // Keep A. A-B: d^2 = 1    -> exp(-0.02)  = 0.980 > 0.9: drop B.
        //         A-C: d^2 = 9    -> exp(-0.18)  = 0.835: C stays.  A-D: d^2 = 12.25 -> exp(-0.245) = 0.783: D stays.
        // Keep C. C-D: d^2 = 0.25 -> exp(-0.005) = 0.995 > 0.9: drop D.
        // B-C would be exp(-4/50) = 0.923 > 0.9, but B is gone, so it does not suppress C.
        var keypoints = new[] { Person(3.5), Person(1), Person(0), Person(3) };
        var keep = OksNms.Apply(keypoints, [100, 100, 100, 100], [0.6, 0.8, 0.9, 0.7], Sigmas);
        Assert.Equal([2, 3], keep);
    }

    [Fact]
    public void LowerThresholdSuppressesMore()
    {
        // At threshold 0.8: keep A; B (0.980) and C (0.835) exceed 0.8 and go; D (0.783) stays and is kept next.
        var keypoints = new[] { Person(3.5), Person(1), Person(0), Person(3) };
        var keep = OksNms.Apply(keypoints, [100, 100, 100, 100], [0.6, 0.8, 0.9, 0.7], Sigmas, threshold: 0.8);
        Assert.Equal([2, 0], keep);
    }

    [Fact]
    public void TiedScoresKeepTheEarlierPerson()
    {
        var keep = OksNms.Apply([Person(0), Person(0)], [100, 100], [0.5, 0.5], Sigmas);
        Assert.Equal([0], keep);
    }

    [Fact]
    public void PerImageGroupsBeforeSuppressing()
    {
        // The same pose in two images must not suppress across images; within image 1 the duplicate goes.
        var results = new List<CocoKeypointResult>
        {
            new(1, Person(0), 0.4),
            new(2, Person(0), 0.9),
            new(1, Person(1), 0.7),
        };
        var kept = OksNms.ApplyPerImage(results, [100, 100, 100], Sigmas);
        Assert.Equal(2, kept.Count);
        Assert.Same(results[2], kept[0]); // image 1 first (first seen), its best person
        Assert.Same(results[1], kept[1]);
    }

    [Fact]
    public void MismatchedInputsAreRejected()
    {
        Assert.Throws<ArgumentException>(() => OksNms.Apply([Person(0)], [100, 100], [0.5], Sigmas));
        Assert.Throws<ArgumentException>(() => OksNms.Apply([new double[] { 1, 2, 3 }], [100], [0.5], Sigmas));
    }
}
