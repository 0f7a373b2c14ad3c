using Distill.Pose.BottomUp;
using Distill.Pose.BottomUp.Decoding;

namespace Distill.Pose.Tests.BottomUp;

public sealed class DecoderTests
{
    private static readonly CifCafMeta Meta = CifCafMeta.Coco();

    /// <summary>A CIF field with one confident cell of joint <paramref name="f"/>.</summary>
    private static FieldTensor OneCell(int f, int cx, int cy, float conf, float x, float y, float scale, int h = 8, int w = 8)
    {
        var cif = new FieldTensor(17, 5, h, w);
        cif[f, 1, cy, cx] = conf;
        cif[f, 2, cy, cx] = x;
        cif[f, 3, cy, cx] = y;
        cif[f, 4, cy, cx] = scale;
        return cif;
    }

    [Fact]
    public void CifHrKernelIsATruncatedGaussianWithTheNearestPixelAtASixteenth()
    {
        // Stride 4, a cell voting for (10.2, 20) px with scale 1 cell = 4 px: sigma = max(1, 0.5 x 4) = 2.
        var cif = OneCell(3, 2, 5, 1f, 10.2f / 4, 20f / 4, 1f);
        var hr = new CifHr();
        hr.Fill(cif, 4, 0.3);
        Assert.Equal((29, 29), (hr.Height, hr.Width));
        Assert.Equal(1 / 16.0, hr.Value(3, 10, 20, -1), 6); // nearest pixel: c / 16
        // (12, 20): d^2 = 3.24 <= 4; e(-3.24 / 8) = (1 - 0.050625)^8 = 0.659937 -> 0.041246.
        Assert.Equal(0.0625 * 0.6599367743058063, hr.Value(3, 12, 20, -1), 6);
        // (9, 21): d^2 = 1.44 + 1 = 2.44; e(-0.305) = (1 - 0.038125)^8 = 0.732849 -> 0.045803.
        Assert.Equal(0.0625 * Math.Pow(1 - 2.44 / 64, 8), hr.Value(3, 9, 21, -1), 6);
        // (12, 21): d^2 = 4.24 > sigma^2: outside the kernel, untouched.
        Assert.Equal(-1f, hr.Value(3, 12, 21, -1));
        Assert.Equal(-1f, hr.Value(2, 10, 20, -1)); // other joints untouched
        Assert.Equal(0f, hr.Value(3, 100, 20, 0)); // outside the map
    }

    [Fact]
    public void CifHrSkipsWeakCellsAndCapsAtOne()
    {
        var hr = new CifHr();
        hr.Fill(OneCell(0, 1, 1, 0.29f, 1, 1, 1), 4, 0.3);
        Assert.Equal(-1f, hr.Value(0, 4, 4, -1));
        // 20 votes of 1 / 16 at the same point reach 1.25 without the cap.
        var cif = new FieldTensor(17, 5, 8, 8);
        for (int i = 0; i < 20; i++)
        {
            cif[0, 1, i / 8, i % 8] = 1;
            cif[0, 2, i / 8, i % 8] = 3;
            cif[0, 3, i / 8, i % 8] = 3;
            cif[0, 4, i / 8, i % 8] = 1;
        }
        hr.Fill(cif, 4, 0.3);
        Assert.Equal(1f, hr.Value(0, 12, 12, -1));
    }

    [Fact]
    public void ApproxExpIsTheEighthPowerOfOnePlusZOverEight()
    {
        Assert.Equal(1.0, CifHr.ApproxExp(0));
        Assert.Equal(Math.Pow(0.9375, 8), CifHr.ApproxExp(-0.5), 12);
        Assert.Equal(0.0, CifHr.ApproxExp(-2.01));
    }

    [Fact]
    public void SeedsScoreNinetyPercentCifHrAndTenPercentConfidence()
    {
        // One cell with conf 0.8 at (3, 3) cells, stride 4: CifHr at (12, 12) is 0.8 / 16 = 0.05 ->
        // 0.9 x 0.05 + 0.1 x 0.8 = 0.125 < 0.2: no seed. Sixteen such cells give 0.8 -> 0.9 x 0.8 + 0.08 = 0.8.
        var decoder = new CifCafDecoder(Meta);
        var one = OneCell(0, 3, 3, 0.8f, 3, 3, 1);
        decoder.CifHr.Fill(one, 4, 0.3);
        Assert.Empty(decoder.Seeds(one, 4));
        var cif = new FieldTensor(17, 5, 8, 8);
        for (int i = 0; i < 16; i++)
        {
            cif[0, 1, i / 4, i % 4] = 0.8f;
            cif[0, 2, i / 4, i % 4] = 3;
            cif[0, 3, i / 4, i % 4] = 3;
            cif[0, 4, i / 4, i % 4] = 1;
        }
        decoder.CifHr.Fill(cif, 4, 0.3);
        var seeds = decoder.Seeds(cif, 4);
        Assert.Equal(16, seeds.Count);
        Assert.All(seeds, s => Assert.Equal(0.8, s.V, 5));
        Assert.Equal((12.0, 12.0, 4.0), (seeds[0].X, seeds[0].Y, seeds[0].S));
    }

    [Fact]
    public void CafScoredKeepsForwardAndReverseEntriesRescoredByTheTargetJoint()
    {
        // Limb 5 (left shoulder 5 -> left hip 11). One cell with conf 0.9 from (2, 2) to (2, 6) cells, stride 4;
        // CifHr of the hip at (8, 24) px is 1, of the shoulder at (8, 8) untouched (0).
        var cif = new FieldTensor(17, 5, 8, 8);
        for (int i = 0; i < 16; i++)
        {
            cif[11, 1, i / 4, i % 4] = 1;
            cif[11, 2, i / 4, i % 4] = 2;
            cif[11, 3, i / 4, i % 4] = 6;
            cif[11, 4, i / 4, i % 4] = 1;
        }
        var hr = new CifHr();
        hr.Fill(cif, 4, 0.3);
        var caf = new FieldTensor(19, 8, 8, 8);
        caf[5, 1, 4, 2] = 0.9f;
        (caf[5, 2, 4, 2], caf[5, 3, 4, 2], caf[5, 4, 4, 2], caf[5, 5, 4, 2], caf[5, 6, 4, 2], caf[5, 7, 4, 2]) = (2, 2, 2, 6, 0.5f, 0.75f);
        var scored = new CafScored(19);
        scored.Fill(caf, 4, Meta.Skeleton, hr, 0.3, 0.3);
        // Forward: 0.9 (0.1 + 0.9 x 1) = 0.9, kept. Backward: 0.9 x 0.1 = 0.09, dropped.
        var fw = Assert.Single(scored.Forward[5]);
        Assert.Equal(new Association(0.9f, 8, 8, 8, 24, 2, 3), fw, new AssociationComparer());
        Assert.Empty(scored.Backward[5]);
        scored.Fill(caf, 4, Meta.Skeleton, hr, 0.3, 0.05);
        Assert.Equal(new Association(0.09f, 8, 24, 8, 8, 3, 2), Assert.Single(scored.Backward[5]), new AssociationComparer());
    }

    private sealed class AssociationComparer : IEqualityComparer<Association>
    {
        public bool Equals(Association a, Association b) =>
            Math.Abs(a.C - b.C) < 1e-6 && a.X1 == b.X1 && a.Y1 == b.Y1 && a.X2 == b.X2 && a.Y2 == b.Y2 && a.S1 == b.S1 && a.S2 == b.S2;

        public int GetHashCode(Association a) => 0;
    }

    [Fact]
    public void BlendAveragesTheTwoBestAssociationsByWeight()
    {
        // Start joint at (10, 10) with scale 4. e1: c 0.8 at distance 0 -> w1 = 0.8. e2: c 0.6 at distance 1 ->
        // w2 = 0.6 exp(-1 / (0.5 x 16)) = 0.529498. w2 >= 0.5 w1 and the targets (20, 10) and (21, 10) are 1 apart,
        // within s1 / 2 = 2: x = (0.8 x 20 + 0.529498 x 21) / 1.329498 = 20.398269, score 0.5 x 1.329498 = 0.664749.
        // e3 lies outside the search box (|dx| = 2.5 > 4 / 2).
        var entries = new List<Association>
        {
            new(0.8f, 10, 10, 20, 10, 4, 4),
            new(0.6f, 11, 10, 21, 10, 4, 6),
            new(1.0f, 12.5f, 10, 40, 40, 4, 4),
        };
        var j = CifCafDecoder.Blend(entries, 10, 10, 4);
        Assert.Equal(0.6647490707753787, j.V, 5);
        Assert.Equal(20.398269185192795, j.X, 5);
        Assert.Equal(10.0, j.Y, 5);
        Assert.Equal((0.8 * 4 + 0.5294981415507573 * 6) / 1.3294981415507573, j.S, 5);
        // Without e2, a 4x search box reaches e3 (w = exp(-6.25 / 8) = 0.457833 >= 0.5 x 0.8), but its target lies
        // 36 px from e1's, more than s1 / 2: e1 alone with 0.5 x 0.8.
        entries.RemoveAt(1);
        var wide = CifCafDecoder.Blend(entries, 10, 10, 4, searchFactor: 4);
        Assert.Equal(0.4, wide.V, 6);
        Assert.Equal((20.0, 10.0), (wide.X, wide.Y));

    }

    [Fact]
    public void BlendFallsBackToTheBestAloneWhenTheSecondIsWeak()
    {
        // w2 = 0.3 < 0.5 x 0.8: the best target alone with half its weight.
        var entries = new List<Association> { new(0.8f, 10, 10, 20, 10, 4, 4), new(0.3f, 10, 10, 22, 10, 4, 4) };
        var j = CifCafDecoder.Blend(entries, 10, 10, 4);
        Assert.Equal(0.4, j.V, 6);
        Assert.Equal((20.0, 10.0, 4.0), (j.X, j.Y, j.S));
        Assert.Equal(default(CifCafDecoder.Joint), CifCafDecoder.Blend([], 10, 10, 4));
    }

    [Fact]
    public void OneGrowStepTakesTheBlendedJointWithTheGeometricMeanConfidence()
    {
        // Left shoulder (5) at (10, 10), v 0.81, scale 4. Limb 5 forward (shoulder -> hip 11) as in the blend case,
        // and a backward entry from the hip at (20.4, 10) back to (10.5, 10.5).
        // v_hip = sqrt(0.664749 x 0.81) = 0.733789.
        var scored = new CafScored(19);
        scored.Forward[5].AddRange([new(0.8f, 10, 10, 20, 10, 4, 4), new(0.6f, 11, 10, 21, 10, 4, 6)]);
        scored.Backward[5].Add(new(0.9f, 20.4f, 10, 10.5f, 10.5f, 4, 4));
        var decoder = new CifCafDecoder(Meta, new CifCafDecoderOptions { ForceComplete = false });
        var joints = new CifCafDecoder.Joint[17];
        joints[5] = new CifCafDecoder.Joint(0.81, 10, 10, 4);
        var hip = decoder.ConnectionValue(joints, scored, 5, 11, reverseMatch: true, searchFactor: 1);
        Assert.Equal(0.7337893071775146, hip.V, 5);
        Assert.Equal(20.398269185192795, hip.X, 4);
        // The reverse search lands 0.5 + 0.5 = 1 (L1) from the start, within its scale 4. Moved 4 px away it fails.
        scored.Backward[5][0] = new(0.9f, 20.4f, 10, 14.5f, 10.5f, 4, 4);
        Assert.Equal(0.0, decoder.ConnectionValue(joints, scored, 5, 11, reverseMatch: true, searchFactor: 1).V);
        Assert.Equal(0.7337893071775146, decoder.ConnectionValue(joints, scored, 5, 11, reverseMatch: false, searchFactor: 1).V, 5);
        // Growing the whole pose from the shoulder fills exactly the hip (no other limb has entries).
        scored.Backward[5][0] = new(0.9f, 20.4f, 10, 10.5f, 10.5f, 4, 4);
        decoder.Grow(joints, scored, reverseMatch: true, searchFactor: 1);
        Assert.Equal(hip, joints[11]);
        Assert.Equal(2, joints.Count(j => j.V > 0));
    }

    [Fact]
    public void AGrownJointBelowHalfItsSourceIsRejected()
    {
        // A single weak association: 0.5 x 0.3 = 0.15, sqrt(0.15 x 0.9) = 0.367 < 0.5 x 0.9.
        var scored = new CafScored(19);
        scored.Forward[5].Add(new(0.3f, 10, 10, 20, 10, 4, 4));
        var decoder = new CifCafDecoder(Meta, new CifCafDecoderOptions { ForceComplete = false });
        var joints = new CifCafDecoder.Joint[17];
        joints[5] = new CifCafDecoder.Joint(0.9, 10, 10, 4);
        Assert.Equal(0.0, decoder.ConnectionValue(joints, scored, 5, 11, reverseMatch: false, searchFactor: 1).V);
    }

    [Fact]
    public void InstanceScoreWeighsTheThreeBestJointsThreeTimes()
    {
        // A perfect two-joint person (nose and left eye, 16 cells each plus the CAF limb 13 between them), no
        // force-complete: confidences 1 and 1, the rest 0 -> (3 + 3) / 23.
        var cif = new FieldTensor(17, 5, 12, 12);
        var caf = new FieldTensor(19, 8, 12, 12);
        for (int i = 0; i < 16; i++)
        {
            int y = 2 + i / 4, x = 2 + i % 4;
            (cif[0, 1, y, x], cif[0, 2, y, x], cif[0, 3, y, x], cif[0, 4, y, x]) = (1, 4, 4, 1);
            (cif[1, 1, y, x], cif[1, 2, y, x], cif[1, 3, y, x], cif[1, 4, y, x]) = (1, 6, 4, 1);
        }
        // Limb 13 is (nose 0, left eye 1).
        for (int x = 4; x <= 6; x++)
            (caf[13, 1, 4, x], caf[13, 2, 4, x], caf[13, 3, 4, x], caf[13, 4, 4, x], caf[13, 5, 4, x], caf[13, 6, 4, x], caf[13, 7, 4, x]) = (1, 4, 4, 6, 4, 1, 1);
        // Mean confidence 2 / 17 = 0.118: an instance threshold of 0.15 would drop the pose.
        var decoder = new CifCafDecoder(Meta, new CifCafDecoderOptions { ForceComplete = false, InstanceThreshold = 0.1 });
        var pose = Assert.Single(decoder.Decode(cif, caf, 4));
        Assert.Empty(new CifCafDecoder(Meta, new CifCafDecoderOptions { ForceComplete = false }).Decode(cif, caf, 4));
        Assert.Equal(6.0 / 23, pose.Score, 6);
        Assert.Equal((16f, 16f, 1f), (pose.Keypoints[0], pose.Keypoints[1], pose.Keypoints[2]));
        Assert.Equal((24f, 16f, 1f), (pose.Keypoints[3], pose.Keypoints[4], pose.Keypoints[5]));
        Assert.Equal(0f, pose.Keypoints[8]);
        // With force-complete the other 15 joints are copied from neighbours at 1e-5 and kept.
        var complete = Assert.Single(new CifCafDecoder(Meta).Decode(cif, caf, 4));
        Assert.All(Enumerable.Range(2, 15), j => Assert.Equal(1e-5f, complete.Keypoints[3 * j + 2]));
    }
}
