using Distill.Pose.Keypoints;

namespace Distill.Pose.Tests.Keypoints;

public class KeypointMappingTests
{
    private static readonly KeypointSet Coco = KeypointSet.FromName("coco17");
    private static readonly KeypointSet Mpii = KeypointSet.FromName("mpii16");
    private static readonly KeypointSet Unified = KeypointSet.FromName("unified21");

    [Fact]
    public void MpiiToCocoEqualsTheReferenceIndexMap()
    {
        // pose-facts.md: 0->16, 1->14, 2->12, 3->11, 4->13, 5->15, 10->10, 11->8, 12->6, 13->5, 14->7, 15->9;
        // 6-9 (pelvis, thorax, upper_neck, head_top) have no COCO counterpart.
        var map = KeypointMapping.Between(Mpii, Coco);
        Assert.Equal([16, 14, 12, 11, 13, 15, -1, -1, -1, -1, 10, 8, 6, 5, 7, 9], map.TargetIndexOfSource);
        Assert.Equal(12, map.SharedCount);
        // COCO-only: nose, eyes, ears (0-4).
        Assert.Equal([-1, -1, -1, -1, -1], map.SourceIndexOfTarget[..5]);
        Assert.False(map.IsIdentity);
    }

    [Fact]
    public void UnifiedFromCocoLeavesTheFourExtraJointsAtWeightZero()
    {
        var map = KeypointMapping.Between(Coco, Unified);
        var xy = Enumerable.Range(0, 34).Select(i => (float)i + 0.5f).ToArray();
        var vis = Enumerable.Range(0, 17).Select(i => (float)(i % 3)).ToArray();
        var (kp, v, w) = map.Convert(xy, vis);

        Assert.Equal(xy, kp[..34]);
        Assert.Equal(vis, v[..17]);
        Assert.All(w[..17], x => Assert.Equal(1f, x));
        Assert.Equal([0f, 0f, 0f, 0f], w[17..]);
        Assert.Equal([0f, 0f, 0f, 0f], v[17..]);
        Assert.Equal(new float[8], kp[34..]);
    }

    [Fact]
    public void UnifiedFromMpiiFillsTheMpiiJointsAndZeroesTheFace()
    {
        var map = KeypointMapping.Between(Mpii, Unified);
        var xy = new float[32];
        for (int j = 0; j < 16; j++) (xy[2 * j], xy[2 * j + 1]) = (100 + j, 200 + j);
        var vis = Enumerable.Repeat(2f, 16).ToArray();
        var weights = Enumerable.Repeat(0.5f, 16).ToArray();
        var (kp, v, w) = map.Convert(xy, vis, weights);

        Assert.Equal([0f, 0f, 0f, 0f, 0f], w[..5]); // nose, eyes, ears
        Assert.Equal([0f, 0f, 0f, 0f, 0f], v[..5]);
        Assert.All(w[5..], x => Assert.Equal(0.5f, x)); // source weights carried over
        // unified 17 = pelvis = MPII 6; unified 20 = head_top = MPII 9; unified 16 = right_ankle = MPII 0.
        Assert.Equal((106f, 206f), (kp[34], kp[35]));
        Assert.Equal((109f, 209f), (kp[40], kp[41]));
        Assert.Equal((100f, 200f), (kp[32], kp[33]));
    }

    [Fact]
    public void SameSetIsIdentity()
    {
        var map = KeypointMapping.Between(Coco, KeypointSet.FromName("coco17"));
        Assert.True(map.IsIdentity);
        Assert.Equal(Enumerable.Range(0, 17), map.TargetIndexOfSource);
    }

    [Fact]
    public void WrongInputLengthsAreRejected()
    {
        var map = KeypointMapping.Between(Mpii, Coco);
        var e = Assert.Throws<ArgumentException>(() => map.Convert(new float[34], new float[17]));
        Assert.Contains("mpii16", e.Message);
    }
}
