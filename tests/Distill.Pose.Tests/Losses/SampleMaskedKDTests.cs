using Distill.Pose.Losses;
using Distill.Torch;

namespace Distill.Pose.Tests.Losses;

/// <summary>
/// The sample mask of the KD losses: a teacher's term over the samples it speaks for only, averaged over those.
/// Values are chosen so that every KL is ln 2 or 0 and the expected terms follow by hand.
/// </summary>
public class SampleMaskedKDTests
{
    // N = 2 samples, K = 1 keypoint, 2 bins, beta 1. The student's logits are (0, 0) everywhere: q = (1/2, 1/2).
    // Sample 0's teacher puts all mass on bin 0 on both axes: KL = 1 * (ln 1 - ln 1/2) = ln 2 per axis, 2 ln 2 in all.
    // Sample 1's teacher is uniform: KL = 0 on both axes.
    private static (Tensor Sx, Tensor Sy, Tensor Px, Tensor Py) Batch()
    {
        var p = torch.FromArray(new float[] { 1, 0, 0.5f, 0.5f }, [2, 1, 2]);
        return (torch.Zeros([2, 1, 2]).RequiresGrad_(), torch.Zeros([2, 1, 2]).RequiresGrad_(), p, p.Clone());
    }

    private static double Kd(KDReduction reduction, float[]? keep)
    {
        using var scope = torch.NewDisposeScope();
        var (sx, sy, px, py) = Batch();
        var mask = keep is null ? null : torch.FromArray(keep, [keep.Length]);
        return new LogitKDLoss(1.0, reduction).Forward(sx, sy, px, py, sampleMask: mask).ItemDouble();
    }

    [Theory]
    // Sample 0 alone: its 2 ln 2 over 1 sample (and K = 1; mean also halves for the two axes).
    [InlineData(KDReduction.DWPose, 1f, 0f, 2.0)]
    [InlineData(KDReduction.BatchMean, 1f, 0f, 2.0)]
    [InlineData(KDReduction.Mean, 1f, 0f, 1.0)]
    [InlineData(KDReduction.Sum, 1f, 0f, 2.0)]
    // Sample 1 alone: its KL is 0.
    [InlineData(KDReduction.DWPose, 0f, 1f, 0.0)]
    [InlineData(KDReduction.Mean, 0f, 1f, 0.0)]
    // Both: 2 ln 2 over 2 samples.
    [InlineData(KDReduction.DWPose, 1f, 1f, 1.0)]
    [InlineData(KDReduction.BatchMean, 1f, 1f, 1.0)]
    [InlineData(KDReduction.Mean, 1f, 1f, 0.5)]
    [InlineData(KDReduction.Sum, 1f, 1f, 2.0)]
    public void MaskedTermIsTheReductionOverTheKeptSamples(KDReduction reduction, float keep0, float keep1, double lnTwos) =>
        Assert.Equal(lnTwos * Math.Log(2), Kd(reduction, [keep0, keep1]), 6);

    [Theory]
    [InlineData(KDReduction.DWPose)]
    [InlineData(KDReduction.BatchMean)]
    [InlineData(KDReduction.Mean)]
    [InlineData(KDReduction.Sum)]
    public void KeepingEverySampleGivesThePlainTermBitForBit(KDReduction reduction)
    {
        using var scope = torch.NewDisposeScope();
        torch.ManualSeed(5);
        var sx = torch.Randn([4, 3, 8]);
        var sy = torch.Randn([4, 3, 10]);
        var px = Functional.Softmax(torch.Randn([4, 3, 8]), -1);
        var py = Functional.Softmax(torch.Randn([4, 3, 10]), -1);
        var kmask = torch.FromArray(new float[] { 1, 0, 1, 1, 1, 1, 0, 1, 1, 1, 1, 0 }, [4, 3]);
        var kd = new LogitKDLoss(10, reduction);
        double plain = kd.Forward(sx, sy, px, py, kmask).ItemDouble();
        double kept = kd.Forward(sx, sy, px, py, kmask, torch.Ones([4])).ItemDouble();
        Assert.True(plain > 0);
        Assert.Equal(plain, kept);
    }

    [Fact]
    public void NoKeptSampleGivesExactlyZeroAndAZeroGradient()
    {
        using var scope = torch.NewDisposeScope();
        var (sx, sy, px, py) = Batch();
        Assert.True(sx.RequiresGrad);
        var loss = new LogitKDLoss(1.0).Forward(sx, sy, px, py, sampleMask: torch.Zeros([2]));
        Assert.True(loss.RequiresGrad);
        Assert.Equal(0.0, loss.ItemDouble());
        loss.Backward();
        Assert.All(sx.Grad!.Flatten().ToArray<float>(), g => Assert.Equal(0f, g));
    }

    [Fact]
    public void AMaskOfTheWrongLengthIsRefused()
    {
        using var scope = torch.NewDisposeScope();
        var (sx, sy, px, py) = Batch();
        var e = Assert.Throws<ArgumentException>(() => new LogitKDLoss().Forward(sx, sy, px, py, sampleMask: torch.Ones([3])));
        Assert.Contains("batch of 2", e.Message);
    }

    [Fact]
    public void FeatureTermSumsTheKeptSamplesAndDividesByTheirCount()
    {
        using var scope = torch.NewDisposeScope();
        // Equal channels: no alignment conv. Squared errors per sample: 1 + 4 = 5, 9 + 0 = 9, 16 + 1 = 17.
        var student = torch.FromArray(new float[] { 1, 2, 3, 0, 4, 1 }, [3, 2, 1, 1]);
        var teacher = torch.Zeros([3, 2, 1, 1]);
        using var loss = new FeatureKDLoss(2, 2, 0.5);
        Assert.Equal((5 + 17) / 2.0 * 0.5, loss.Forward(student, teacher, torch.FromArray(new float[] { 1, 0, 1 }, [3])).ItemDouble(), 6);
        Assert.Equal(0.0, loss.Forward(student, teacher, torch.Zeros([3])).ItemDouble());
        Assert.Equal(loss.Forward(student, teacher).ItemDouble(), loss.Forward(student, teacher, torch.Ones([3])).ItemDouble());
    }
}
