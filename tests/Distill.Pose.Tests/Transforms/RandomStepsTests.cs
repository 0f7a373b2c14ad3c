using Distill.Pose.Transforms;

namespace Distill.Pose.Tests.Transforms;

public class RandomStepsTests
{
    [Fact]
    public void FlipMirrorsAndSwapsKeypointsVisibilityAndWeights()
    {
        var inst = new TopdownInstance(100, 80, (40, 50), (30, 60), [10, 5, 20, 6, 30, 7], [1, 0.5f, 0], [1, 2, 3]);
        RandomFlip.Flip(inst, [0, 2, 1]);
        // x -> 100 - 1 - x; keypoint 1 takes keypoint 2's values and vice versa.
        Assert.Equal([89f, 5, 69, 7, 79, 6], inst.Keypoints);
        Assert.Equal([1f, 0, 0.5f], inst.Visibility);
        Assert.Equal([1f, 3, 2], inst.KeypointWeights);
        Assert.Equal((59.0, 50.0), inst.Center);
        Assert.Equal((30.0, 60.0), inst.Scale);
        Assert.True(inst.Flipped);
    }

    [Fact]
    public void FlipIndicesMustBeASymmetricPermutation()
    {
        Assert.Throws<ArgumentException>(() => RandomFlip.CheckIndices([0, 1], 3));
        Assert.Throws<ArgumentException>(() => RandomFlip.CheckIndices([1, 2, 0], 3));
        Assert.Throws<ArgumentException>(() => RandomFlip.CheckIndices([0, 3, 1], 3));
        RandomFlip.CheckIndices([0, 2, 1], 3);
    }

    private static readonly int[] Upper = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    private static readonly int[] Lower = [11, 12, 13, 14, 15, 16];

    private static TopdownInstance Person(float[] visibility)
    {
        // Keypoint i at (100 + 3 i, 50 + 10 i): upper body rows 50..150, lower 160..210.
        var kp = new float[34];
        for (int i = 0; i < 17; i++)
        {
            kp[2 * i] = 100 + 3 * i;
            kp[2 * i + 1] = 50 + 10 * i;
        }
        return new TopdownInstance(640, 480, (124, 130), (80, 200), kp, visibility, Enumerable.Repeat(1f, 17).ToArray());
    }

    private static float[] Visible(params int[] ids)
    {
        var v = new float[17];
        foreach (int i in ids) v[i] = 1;
        return v;
    }

    [Fact]
    public void HalfBodyFramesTheUpperBody()
    {
        var inst = Person(Enumerable.Repeat(1f, 17).ToArray());
        var options = new TopdownAugmentation { HalfBodyProb = 1, HalfBodyUpperPrioritizedProb = 1 };
        var ids = RandomHalfBody.Apply(inst, Upper, Lower, options, new SampleRandom(1));
        Assert.Equal(Upper, ids);
        // Upper keypoints 0..10: x 100..130 (mean 115), y 50..150 (mean 100); extent (30, 100) x 1.5 = (45, 150).
        Assert.Equal(115.0, inst.Center.X, 9);
        Assert.Equal(100.0, inst.Center.Y, 9);
        Assert.Equal(45.0, inst.Scale.Width, 9);
        Assert.Equal(150.0, inst.Scale.Height, 9);
    }

    [Fact]
    public void HalfBodyUsesOnlyLabelledKeypoints()
    {
        // Upper 5, 6, 7 labelled (2 needed), lower all six; preference for lower.
        var inst = Person(Visible(5, 6, 7, 11, 12, 13, 14, 15, 16));
        var options = new TopdownAugmentation { HalfBodyProb = 1, HalfBodyUpperPrioritizedProb = 0 };
        var ids = RandomHalfBody.Apply(inst, Upper, Lower, options, new SampleRandom(2));
        Assert.Equal(Lower, ids);
        // Lower 11..16: x 133..148 (mean 140.5), y 160..210 (mean 185); extent (15, 50) x 1.5 = (22.5, 75).
        Assert.Equal((140.5, 185.0), inst.Center);
        Assert.Equal((22.5, 75.0), inst.Scale);
    }

    [Fact]
    public void HalfBodyFallsBackToTheHalfWithEnoughKeypoints()
    {
        // Only two lower keypoints (3 needed): upper wins even when lower is preferred.
        var inst = Person(Visible(0, 1, 2, 3, 4, 5, 6, 11, 12));
        var options = new TopdownAugmentation { HalfBodyProb = 1, HalfBodyUpperPrioritizedProb = 0 };
        Assert.Equal([0, 1, 2, 3, 4, 5, 6], RandomHalfBody.Apply(inst, Upper, Lower, options, new SampleRandom(3)));
    }

    [Fact]
    public void HalfBodyNeedsEnoughKeypointsInTotal()
    {
        // Eight labelled keypoints, nine required: the box stays.
        var inst = Person(Visible(0, 1, 2, 3, 11, 12, 13, 14));
        var options = new TopdownAugmentation { HalfBodyProb = 1 };
        Assert.Null(RandomHalfBody.Apply(inst, Upper, Lower, options, new SampleRandom(4)));
        Assert.Equal((124.0, 130.0), inst.Center);
        Assert.Equal((80.0, 200.0), inst.Scale);
    }

    [Fact]
    public void BoxTransformIsOffWhenProbabilitiesAreZero()
    {
        var inst = Person(Visible(0));
        RandomBBoxTransform.Apply(inst, TopdownAugmentation.None, new SampleRandom(5));
        Assert.Equal((124.0, 130.0), inst.Center);
        Assert.Equal((80.0, 200.0), inst.Scale);
        Assert.Equal(0.0, inst.Rotation);
    }

    [Fact]
    public void BoxTransformUsesTruncatedNormalsTimesFactors()
    {
        var options = new TopdownAugmentation { ShiftProb = 1, ScaleProb = 1, RotateProb = 1 };
        for (ulong seed = 0; seed < 200; seed++)
        {
            var inst = Person(Visible(0));
            RandomBBoxTransform.Apply(inst, options, new SampleRandom(seed, 3, 7));
            // The same four draws, replayed: shift t x 0.16 x size, scale 1 + 0.4 t, rotation 80 t.
            var replay = new SampleRandom(seed, 3, 7);
            double tx = replay.TruncatedNormal(), ty = replay.TruncatedNormal(), ts = replay.TruncatedNormal(), tr = replay.TruncatedNormal();
            Assert.Equal(124 + tx * 0.16 * 80, inst.Center.X, 9);
            Assert.Equal(130 + ty * 0.16 * 200, inst.Center.Y, 9);
            Assert.Equal(80 * (1 + 0.4 * ts), inst.Scale.Width, 9);
            Assert.Equal(200 * (1 + 0.4 * ts), inst.Scale.Height, 9);
            Assert.Equal(80 * tr, inst.Rotation, 9);
            Assert.InRange(inst.Scale.Width / 80, 0.6, 1.4);
            Assert.InRange(inst.Rotation, -80, 80);
        }
    }

    [Fact]
    public void TruncatedNormalHasTheTruncatedMoments()
    {
        // N(0, 1) truncated to [-1, 1]: mean 0, variance 1 - 2 phi(1) / (2 Phi(1) - 1)
        // = 1 - 2 x 0.2419707 / 0.6826895 = 0.291122.
        var rng = new SampleRandom(42);
        const int n = 40000;
        double sum = 0, sumSq = 0;
        for (int i = 0; i < n; i++)
        {
            double x = rng.TruncatedNormal();
            Assert.InRange(x, -1, 1);
            sum += x;
            sumSq += x * x;
        }
        double mean = sum / n, variance = sumSq / n - mean * mean;
        Assert.InRange(mean, -0.01, 0.01);
        Assert.InRange(variance, 0.291122 - 0.008, 0.291122 + 0.008);
    }

    [Fact]
    public void SampleStreamsDependOnlyOnSeedEpochAndIndex()
    {
        var a = new SampleRandom(7, 2, 1000);
        var b = new SampleRandom(7, 2, 1000);
        var seqA = Enumerable.Range(0, 16).Select(_ => a.NextUInt64()).ToArray();
        Assert.Equal(seqA, Enumerable.Range(0, 16).Select(_ => b.NextUInt64()).ToArray());
        foreach (var other in new[] { new SampleRandom(8, 2, 1000), new SampleRandom(7, 3, 1000), new SampleRandom(7, 2, 1001) })
            Assert.NotEqual(seqA, Enumerable.Range(0, 16).Select(_ => other.NextUInt64()).ToArray());
    }

    [Fact]
    public void NextIntCoversTheInclusiveRangeUniformly()
    {
        var rng = new SampleRandom(11);
        var counts = new int[3];
        for (int i = 0; i < 30000; i++) counts[rng.NextInt(3, 5) - 3]++;
        // 10000 expected each; 5 standard deviations is about 400.
        foreach (int c in counts) Assert.InRange(c, 9600, 10400);
    }

    [Fact]
    public void TwoStageSwitchChangesSettingsForTheLastEpochs()
    {
        // 420 epochs, last 30 in stage 2: epochs 0..389 stage 1, 390..419 stage 2 (mmpose counts epochs from 0).
        var sw = new TwoStageSwitch(TopdownAugmentation.RtmposeStage1, TopdownAugmentation.RtmposeStage2, 420, 30);
        Assert.Equal(390, sw.SwitchEpoch);
        Assert.Same(TopdownAugmentation.RtmposeStage1, sw.For(389));
        Assert.Same(TopdownAugmentation.RtmposeStage2, sw.For(390));
        Assert.Equal((0.75, 1.25), sw.For(419).ScaleFactor);
        Assert.Equal(60, sw.For(419).RotateFactor);
        Assert.Equal(0, sw.For(419).ShiftFactor);
        Assert.Equal(0.5, sw.For(419).CoarseDropoutProb);
        Assert.Throws<ArgumentOutOfRangeException>(() => new TwoStageSwitch(TopdownAugmentation.RtmposeStage1, TopdownAugmentation.RtmposeStage2, 10, 11));
    }

    [Fact]
    public void InvalidAugmentationSettingsAreAllReported()
    {
        var bad = new TopdownAugmentation { FlipProb = 2, ScaleFactor = (1.4, 0.6), BlurLimit = (4, 7) };
        var errors = bad.Validate();
        Assert.Equal(3, errors.Count);
        Assert.Contains(errors, e => e.Contains(nameof(TopdownAugmentation.FlipProb)));
        Assert.Contains(errors, e => e.Contains(nameof(TopdownAugmentation.ScaleFactor)));
        Assert.Contains(errors, e => e.Contains(nameof(TopdownAugmentation.BlurLimit)));
        Assert.Empty(TopdownAugmentation.RtmposeStage1.Validate());
        Assert.Empty(TopdownAugmentation.RtmposeStage2.Validate());
    }
}
