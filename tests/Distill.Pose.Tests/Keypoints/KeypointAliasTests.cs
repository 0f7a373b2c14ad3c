using Distill.Pose.Keypoints;

namespace Distill.Pose.Tests.Keypoints;

/// <summary>The AI Challenger and CrowdPose sets as shipped, and the aliases that let their files' own joint names load.</summary>
public class KeypointAliasTests
{
    [Fact]
    public void ShippedSetsCarryTheirPublishedSigmasAndAliases()
    {
        var aic = KeypointSet.FromName("aic14");
        Assert.Equal(14, aic.Count);
        // AI Challenger 2017 keypoint_eval.py deltas halved; first and last two restated here.
        Assert.Equal((0.01388152, 0.01291456, 0.01236173), (aic.Sigmas[0], aic.Sigmas[12], aic.Sigmas[13]));
        Assert.True(aic.Matches(13, "neck") && aic.Matches(13, "upper_neck") && !aic.Matches(12, "neck"));
        // Flips swap right and left of each limb joint; the head points stay.
        Assert.Equal([3, 4, 5, 0, 1, 2, 9, 10, 11, 6, 7, 8, 12, 13], aic.FlipIndices);

        var crowd = KeypointSet.FromName("crowdpose14");
        Assert.Equal([0.079, 0.079, 0.072, 0.072, 0.062, 0.062, 0.107, 0.107, 0.087, 0.087, 0.089, 0.089, 0.079, 0.079], crowd.Sigmas);
        Assert.Equal(["top_head", "head"], crowd.AliasesOf(12));
        Assert.Equal([1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 12, 13], crowd.FlipIndices);

        var unified = KeypointSet.FromName("unified_coco_mpii_aic");
        Assert.Equal(KeypointSet.FromName("unified21").Names, unified.Names);
    }

    [Theory]
    [InlineData("aliases: {elbow: [e]}", "aliases.elbow", "not a keypoint of this set")]
    [InlineData("aliases: {a: [b]}", "aliases.a", "already a keypoint name")]
    [InlineData("aliases: {a: [x], b: [x]}", "aliases.b", "listed twice")]
    public void BadAliasesNameTheirKey(string aliases, string key, string message)
    {
        var e = Assert.Throws<KeypointSetException>(() => KeypointSet.Parse($"name: t\nkeypoints: [a, b]\nsigmas: [0.1, 0.1]\n{aliases}\n", "t.yaml"));
        Assert.Equal(key, e.Key);
        Assert.Contains(message, e.Message);
        Assert.Contains("t.yaml", e.Message);
    }
}
