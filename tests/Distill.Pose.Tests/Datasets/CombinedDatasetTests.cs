using Distill.Pose.Datasets;
using Distill.Pose.Keypoints;
using Distill.TestSupport;

namespace Distill.Pose.Tests.Datasets;

public class CombinedDatasetTests
{
    private static readonly KeypointSet Unified = KeypointSet.FromName("unified21");

    private static CombinedDataset CocoAndMpii(double cocoRatio = 1, double mpiiRatio = 1) => new(Unified,
    [
        new CombinedSource(CocoKeypointDataset.Load(CocoJson.RealPath), cocoRatio),
        new CombinedSource(MpiiDataset.Load(SharedData.Data("mpii", "test_mpii.json")), mpiiRatio),
    ]);

    [Fact]
    public void InstancesAreConvertedToTheTargetSetByName()
    {
        var ds = CocoAndMpii();
        Assert.Equal(12 + 5, ds.Count); // 12 usable COCO instances, then the 5 MPII records
        Assert.Equal((0, 11), ds.Locate(11));
        Assert.Equal((1, 0), ds.Locate(12));
        Assert.Equal(12, ds.Offset(1));

        var coco = ds[0];
        Assert.Equal(21, coco.KeypointCount);
        Assert.Equal("coco", coco.SourceName);
        Assert.Equal(ds.Sources[0].Dataset[0].Keypoints, coco.Keypoints[..34]);
        Assert.All(coco.KeypointWeights[..17], w => Assert.Equal(1f, w));
        Assert.Equal([0f, 0f, 0f, 0f], coco.KeypointWeights[17..]); // pelvis, thorax, upper_neck, head_top
        Assert.Equal([0f, 0f, 0f, 0f], coco.Visibility[17..]);

        var source = ds.Sources[1].Dataset[0];
        var mpii = ds[12];
        Assert.Equal("mpii", mpii.SourceName);
        Assert.Equal([0f, 0f, 0f, 0f, 0f], mpii.KeypointWeights[..5]); // nose, eyes, ears
        Assert.All(mpii.KeypointWeights[5..], w => Assert.Equal(1f, w));
        Assert.Equal(source.Keypoints[12..14], mpii.Keypoints[34..36]); // unified 17 pelvis = MPII 6
        Assert.Equal(source.Keypoints[0..2], mpii.Keypoints[32..34]);   // unified 16 right_ankle = MPII 0
        Assert.Equal(source.Bbox, mpii.Bbox);
        Assert.Equal(16, mpii.NumKeypoints);

        Assert.Equal(4 + 5, ds.Images.Count);
        Assert.Equal(19, ds.Report.RecordsRead);
        Assert.Equal(2, ds.Report.Skipped(SkipReason.NoKeypoints));
        Assert.Empty(ds.ValidateImages());
        Assert.Throws<ArgumentOutOfRangeException>(() => ds[17]);
    }

    [Fact]
    public void EachSourceContributesRatioTimesItsSizePerEpoch()
    {
        // COCO 12 x 1.0 = 12 draws, MPII 5 x 2.0 = 10 draws: epoch length 22.
        var sampler = new RatioEpochSampler(CocoAndMpii(1.0, 2.0));
        Assert.Equal(22, sampler.EpochLength);
        Assert.Equal((12, 10), (sampler.Quota(0), sampler.Quota(1)));
        for (int epoch = 0; epoch < 3; epoch++)
        {
            var order = sampler.Indices(seed: 42, epoch);
            Assert.Equal(22, order.Length);
            var counts = order.GroupBy(i => i).ToDictionary(g => g.Key, g => g.Count());
            // Ratio 1: each COCO instance exactly once; ratio 2: each MPII record exactly twice.
            Assert.All(Enumerable.Range(0, 12), i => Assert.Equal(1, counts[i]));
            Assert.All(Enumerable.Range(12, 5), i => Assert.Equal(2, counts[i]));
            // Sources are interleaved, not concatenated (all 12 COCO draws first has probability 1 / C(22, 10)).
            Assert.NotEqual(Enumerable.Range(0, 12).ToHashSet(), order[..12].ToHashSet());
        }
    }

    [Fact]
    public void OrdersAreReproducibleAndDifferBetweenEpochsAndSeeds()
    {
        var sampler = new RatioEpochSampler([100, 40], [1.0, 0.5]);
        Assert.Equal(sampler.Indices(7, 3), sampler.Indices(7, 3));
        Assert.Equal(sampler.Indices(7, 3), new RatioEpochSampler([100, 40], [1.0, 0.5]).Indices(7, 3));
        Assert.NotEqual(sampler.Indices(7, 3), sampler.Indices(7, 4));
        Assert.NotEqual(sampler.Indices(7, 3), sampler.Indices(8, 3));
    }

    [Fact]
    public void QuotasRoundHalfToEven()
    {
        // 5 x 0.5 = 2.5 -> 2, 3 x 0.5 = 1.5 -> 2, 7 x 0 = 0 (as Python's round in mmpose's CombinedDataset).
        var sampler = new RatioEpochSampler([5, 3, 7], [0.5, 0.5, 0.0]);
        Assert.Equal([2, 2, 0], new[] { sampler.Quota(0), sampler.Quota(1), sampler.Quota(2) });
        Assert.Equal(4, sampler.EpochLength);
        Assert.All(sampler.Indices(1, 0), i => Assert.InRange(i, 0, 7)); // nothing from the third source (8..14)
    }

    [Fact]
    public void UndersampledSourceIsCoveredAcrossConsecutiveEpochs()
    {
        // 12 x 0.5 = 6 draws per epoch: epochs 0+1 (and 2+3) each visit all 12 exactly once.
        var sampler = new RatioEpochSampler([12], [0.5]);
        for (int e = 0; e < 4; e += 2)
        {
            var both = sampler.Indices(3, e).Concat(sampler.Indices(3, e + 1)).Order();
            Assert.Equal(Enumerable.Range(0, 12), both);
        }
    }

    [Fact]
    public void OversampledSourceDrawsEveryInstanceFloorOrCeilTimes()
    {
        // 4 x 2.5 = 10 draws: two full passes and half of a third, so each instance 2 or 3 times.
        var sampler = new RatioEpochSampler([4], [2.5]);
        var counts = sampler.Indices(11, 0).GroupBy(i => i).Select(g => g.Count()).Order().ToArray();
        Assert.Equal([2, 2, 3, 3], counts);
    }

    [Fact]
    public void SourceWithoutSharedKeypointsIsRejected()
    {
        var other = KeypointSet.Parse("name: paws\nkeypoints: [paw]\nsigmas: [0.1]\n", "paws.yaml");
        var e = Assert.Throws<ArgumentException>(() => new CombinedDataset(Unified, [new CombinedSource(new EmptyDataset(other))]));
        Assert.Contains("shares no keypoint name", e.Message);
        Assert.Throws<ArgumentException>(() => new RatioEpochSampler([3], [-1.0]));
    }

    private sealed class EmptyDataset(KeypointSet set) : PoseDataset
    {
        public override string Name => "empty";
        public override KeypointSet KeypointSet => set;
        public override int Count => 0;
        public override PoseInstance this[int index] => throw new ArgumentOutOfRangeException(nameof(index));
        public override IReadOnlyList<ImageInfo> Images => [];
        public override LoadReport Report => new("empty");
    }
}
