using Distill.Pose.BottomUp;
using Distill.Pose.BottomUp.Encoders;

namespace Distill.Pose.Tests.BottomUp;

public sealed class EncoderTests
{
    private static readonly CifCafMeta Meta = CifCafMeta.Coco();

    /// <summary>A person with the given joints labelled (index, x, y, v), the rest unlabelled.</summary>
    private static FieldAnnotation Person(params (int Joint, double X, double Y, int V)[] joints)
    {
        var k = new float[3 * 17];
        foreach (var (j, x, y, v) in joints)
        {
            k[3 * j] = (float)x;
            k[3 * j + 1] = (float)y;
            k[3 * j + 2] = v;
        }
        return new FieldAnnotation(k, (0, 0, 1, 1));
    }

    private static int CountWhere(FieldTensor t, int field, int comp, Func<float, bool> pred)
    {
        int n = 0;
        foreach (var v in t.PlaneSpan(field, comp)) if (pred(v)) n++;
        return n;
    }

    [Fact]
    public void CifPatchIsTheFourByFourCellsFromRoundedTopLeftPointingAtTheJoint()
    {
        // Stride 4, 41 x 41 pixels: an 11 x 11 field. The nose at pixel (18, 22) is (4.5, 5.5) cells; the patch's
        // top-left is round(4.5 - 1.5, 5.5 - 1.5) = (3, 4), so it covers x 3..6, y 4..7.
        var person = Person((0, 18, 22, 2), (5, 10, 30, 2), (6, 30, 30, 2));
        var t = new CifEncoder(Meta, 4).Encode([person], 41, 41);
        Assert.Equal((17, 5, 11, 11), (t.Fields, t.Components, t.Height, t.Width));
        Assert.Equal(16, CountWhere(t, 0, 0, v => v == 1));
        Assert.Equal(121 - 16, CountWhere(t, 0, 0, v => v == 0));
        for (int y = 0; y < 11; y++)
            for (int x = 0; x < 11; x++)
            {
                bool inPatch = x >= 3 && x <= 6 && y >= 4 && y <= 7;
                Assert.Equal(inPatch ? 1f : 0f, t[0, 0, y, x]);
                if (!inPatch)
                {
                    for (int c = 1; c < 5; c++) Assert.True(float.IsNaN(t[0, c, y, x]));
                    continue;
                }
                Assert.Equal(4.5 - x, t[0, 1, y, x], 6);
                Assert.Equal(5.5 - y, t[0, 2, y, x], 6);
                Assert.Equal(0.1 / 4, t[0, 3, y, x], 6); // bmin 0.1 px in cells
            }
        // Corner cells: (3, 4) sees the joint at (+1.5, +1.5), (6, 7) at (-1.5, -1.5).
        Assert.Equal(1.5f, t[0, 1, 4, 3]);
        Assert.Equal(-1.5f, t[0, 2, 7, 6]);
        // Unlabelled joints have no target at all.
        Assert.Equal(0, CountWhere(t, 1, 0, v => v != 0));
    }

    [Fact]
    public void CifPatchRoundsHalvesToEven()
    {
        // Joint at (4.0, 3.0) cells: 4.0 - 1.5 = 2.5 rounds to 2, 3.0 - 1.5 = 1.5 rounds to 2.
        var t = new CifEncoder(Meta, 1).Encode([Person((0, 4, 3, 2), (1, 0, 0, 2), (2, 9, 9, 2))], 12, 12);
        Assert.Equal(1f, t[0, 0, 2, 2]);
        Assert.Equal(1f, t[0, 0, 5, 5]);
        Assert.Equal(0f, t[0, 0, 2, 6]);
        Assert.Equal(0f, t[0, 0, 1, 2]);
    }

    [Fact]
    public void CifCellsTakeTheNearerOfTwoJoints()
    {
        // Two noses 1.6 cells apart (stride 1): cell (11, 10) is 1.0 from the first and 0.6 from the second.
        var a = Person((0, 10, 10, 2), (5, 0, 0, 2), (6, 0, 5, 2));
        var b = Person((0, 11.6, 10, 2), (5, 30, 30, 2), (6, 30, 25, 2));
        var t = new CifEncoder(Meta, 1).Encode([a, b], 40, 40);
        Assert.Equal(0.6, t[0, 1, 10, 11], 5); // b - cell = 11.6 - 11
        Assert.Equal(0.0, t[0, 1, 10, 10], 6); // a's own cell keeps a (b is 1.6 away)
        Assert.Equal(1.0, t[0, 1, 10, 9], 5); // only a's patch reaches x = 9: a - cell = 10 - 9
    }

    [Fact]
    public void InstanceScaleOfAFullyLabelledPersonIsTheRootOfItsBoxArea()
    {
        // All 17 joints labelled: the reference ratio is 1; box 6 x 24 -> sqrt(144) = 12.
        var k = new double[51];
        for (int j = 0; j < 17; j++) { k[3 * j] = j % 2 == 0 ? 2 : 8; k[3 * j + 1] = 1 + 1.5 * j; k[3 * j + 2] = 2; }
        Assert.Equal(12.0, AnnotationRescaler.InstanceScale(k, Meta.UprightPose), 9);
    }

    [Fact]
    public void InstanceScaleOfAPartlyLabelledPersonIsEnlargedByTheUprightPose()
    {
        // Nose and shoulders only, box 10 x 5 cells, sqrt(area) = sqrt(50).
        // Upright pose: whole box 3.5 x 9.7 = 33.95; nose + shoulders 2.8 x 1.3 = 3.64; ratio 9.3269.
        // Rotated by 45 degrees: whole 66.7 / labelled 3.9200 = 17.0153. f = sqrt(9.3269) = 3.0540.
        var k = new double[51];
        (k[0], k[1], k[2]) = (5, 0, 2);
        (k[15], k[16], k[17]) = (0, 5, 2);
        (k[18], k[19], k[20]) = (10, 5, 1);
        Assert.Equal(Math.Sqrt(50) * 3.054001158631586, AnnotationRescaler.InstanceScale(k, Meta.UprightPose), 6);
        // Legs only (hips, knees, ankles): ratios 3.03125 and 3.05336, f = sqrt(3.03125) = 1.74105.
        var legs = new double[51];
        for (int j = 11; j < 17; j++) { legs[3 * j] = j; legs[3 * j + 1] = 2 * j; legs[3 * j + 2] = 2; }
        Assert.Equal(Math.Sqrt(5.0 * 10.0) * 1.741048534648015, AnnotationRescaler.InstanceScale(legs, Meta.UprightPose), 6);
    }

    [Fact]
    public void InstanceScaleNeedsThreeLabelledJointsAndAtLeastATenth()
    {
        var two = new double[51];
        (two[2], two[5]) = (2, 2);
        two[3] = 5;
        Assert.True(double.IsNaN(AnnotationRescaler.InstanceScale(two, Meta.UprightPose)));
        var tiny = new double[51];
        for (int j = 0; j < 17; j++) { tiny[3 * j] = 0.001 * j; tiny[3 * j + 1] = 0.002 * j; tiny[3 * j + 2] = 2; }
        Assert.True(double.IsNaN(AnnotationRescaler.InstanceScale(tiny, Meta.UprightPose)));
    }

    [Fact]
    public void JointScaleTargetIsInstanceScaleTimesSigma()
    {
        // Three labelled joints on a 20 x 20 box (stride 1): nose, left eye, right eye -> upright box 0.7 x 0.4.
        var p = Person((0, 10, 10, 2), (1, 30, 10, 2), (2, 10, 30, 2));
        var t = new CifEncoder(Meta, 1).Encode([p], 64, 64);
        var k = new double[51];
        (k[0], k[1], k[2], k[3], k[4], k[5], k[6], k[7], k[8]) = (10, 10, 2, 30, 10, 2, 10, 30, 2);
        double scale = AnnotationRescaler.InstanceScale(k, Meta.UprightPose);
        Assert.Equal(20 * 5, scale, 6); // the eyes and nose cover so little of the upright pose that f clips at 5
        Assert.Equal(scale * 0.026, t[0, 4, 10, 10], 4);
        Assert.Equal(scale * 0.025, t[1, 4, 10, 30], 4);
    }

    [Fact]
    public void AnOccludedJointNearAVisibleOneOfAnotherPersonIsDropped()
    {
        // Person a's left shoulder is occluded (v 1) at (100, 100); b's visible one is 20 px right, 30 px down.
        var a = Person((5, 100, 100, 1), (0, 60, 60, 2), (6, 140, 60, 2));
        var b = Person((5, 120, 130, 2), (0, 200, 200, 2), (6, 220, 180, 2));
        var t = new CifEncoder(Meta, 4).Encode([a, b], 301, 301);
        Assert.Equal(0f, t[5, 0, 25, 25]); // (100, 100) / 4: no target
        Assert.Equal(1f, t[5, 0, 32, 30]);  // b's (30, 32.5) is kept
        // 40 px away in x it is kept.
        var far = Person((5, 160, 130, 2), (0, 200, 200, 2), (6, 220, 180, 2));
        var t2 = new CifEncoder(Meta, 4).Encode([a, far], 301, 301);
        Assert.Equal(1f, t2[5, 0, 25, 25]);
        // Two occluded joints never drop each other.
        var hidden = Person((5, 110, 110, 1), (0, 200, 200, 2), (6, 220, 180, 2));
        var t3 = new CifEncoder(Meta, 4).Encode([a, hidden], 301, 301);
        Assert.Equal(1f, t3[5, 0, 25, 25]);
    }

    [Fact]
    public void CrowdsAndUnlabelledPersonsAreMaskedWithNaN()
    {
        // Stride 4, 81 x 81 pixels (21 x 21 cells). A crowd box (20, 20, 20, 12) px = (5, 5) to (10, 8) cells; grown
        // by 1.5 cells and truncated: x from int(3.5) = 3 to ceil(11.5) + 1 = 13 (exclusive), y from 3 to 11.
        var crowd = new FieldAnnotation(new float[51], (20, 20, 20, 12), IsCrowd: true);
        var t = new CifEncoder(Meta, 4).Encode([crowd], 81, 81);
        for (int y = 0; y < 21; y++)
            for (int x = 0; x < 21; x++)
            {
                bool masked = x >= 3 && x < 13 && y >= 3 && y < 11;
                Assert.Equal(masked, float.IsNaN(t[0, 0, y, x]));
            }
        // CAF grows by one cell: x from 4 to 12, y from 4 to 10.
        var c = new CafEncoder(Meta, 4).Encode([crowd], 81, 81);
        Assert.True(float.IsNaN(c[3, 0, 4, 4]) && float.IsNaN(c[3, 0, 9, 11]));
        Assert.Equal(0f, c[3, 0, 3, 4]);
        Assert.Equal(0f, c[3, 0, 10, 11]);
        Assert.Equal(0f, c[3, 0, 4, 12]);
        // A person without any labelled joint masks like a crowd; with one it does not.
        var nobody = new FieldAnnotation(new float[51], (20, 20, 20, 12));
        Assert.True(float.IsNaN(new CifEncoder(Meta, 4).Encode([nobody], 81, 81)[0, 0, 5, 5]));
    }

    [Fact]
    public void InsideAMaskOnlyCellsWithinOneCellOfAJointGetATarget()
    {
        var crowd = new FieldAnnotation(new float[51], (0, 0, 80, 80), IsCrowd: true);
        var p = Person((0, 40.4, 40, 2), (1, 20, 20, 2), (2, 60, 20, 2));
        var t = new CifEncoder(Meta, 4).Encode([crowd, p], 81, 81);
        // Nose at (10.1, 10) cells: patch x 9..12 (round(8.6) = 9), y 8..11 (round(8.5) = 8). Distances < 1: cells
        // (10, 10) 0.1 and (11, 10) 0.9; (10, 9) is exactly 1.005 away, (9, 10) 1.1.
        Assert.Equal(1f, t[0, 0, 10, 10]);
        Assert.Equal(1f, t[0, 0, 10, 11]);
        Assert.True(float.IsNaN(t[0, 0, 9, 10]));
        Assert.True(float.IsNaN(t[0, 0, 10, 9]));
        Assert.True(float.IsNaN(t[0, 1, 10, 9]));
    }

    [Fact]
    public void OutsideTheValidAreaConfidenceIsZeroAndTheRestNaN()
    {
        var p = Person((0, 4, 4, 2), (1, 8, 4, 2), (2, 4, 8, 2));
        // Valid area x 0..20, y 0..40 px at stride 4: cells x 0..5 stay (int(20 / 4) + 1 = 6 is the first outside).
        var t = new CifEncoder(Meta, 4).Encode([p], 41, 41, (0, 0, 20, 40));
        Assert.Equal(1f, t[0, 0, 1, 1]);
        for (int y = 0; y < 11; y++)
            for (int x = 6; x < 11; x++)
            {
                Assert.Equal(0f, t[0, 0, y, x]);
                Assert.True(float.IsNaN(t[0, 1, y, x]));
            }
    }

    [Theory]
    [InlineData(10.0, new[] { 0.25, 0.30555555555555558, 0.3611111111111111, 0.41666666666666669, 0.47222222222222221, 0.52777777777777779, 0.58333333333333337, 0.63888888888888884, 0.69444444444444442, 0.75 })]
    [InlineData(5.0, new[] { 0.3, 0.4, 0.5, 0.6, 0.7 })] // m = 1.5 / 5
    [InlineData(3.0, new[] { 0.4, 0.5, 0.6 })] // 1.5 / 3 = 0.5 clips to 0.4
    [InlineData(0.5, new[] { 0.4, 0.6 })] // at least two points
    public void CafSamplingFractions(double length, double[] expected)
    {
        var f = CafEncoder.Fractions(length);
        Assert.Equal(expected.Length, f.Length);
        for (int i = 0; i < f.Length; i++) Assert.Equal(expected[i], f[i], 12);
    }

    [Fact]
    public void CafSamplingFractionsOfAFractionalLength()
    {
        // m = 1.5 / 4.2 = 0.357143, ceil(4.2) = 5 points, step (1 - 2m) / 4 = 0.071429.
        Assert.Equal([0.357143, 0.428571, 0.5, 0.571429, 0.642857], CafEncoder.Fractions(4.2).Select(v => Math.Round(v, 6)));
    }

    [Fact]
    public void CafCellsAroundAHorizontalLimbPointAtBothJoints()
    {
        // Limb 5 is (left shoulder, left hip) = joints (5, 11). Stride 1, shoulder at (2, 5), hip at (8, 5):
        // length 6, m = 0.25, fractions .25 .35 .45 .55 .65 .75 -> x 3.5 4.1 4.7 5.3 5.9 6.5 -> nearest cells
        // 4 4 5 5 6 6 (halves to even), so the 3x3 blocks cover x 3..7, y 4..6.
        var p = Person((5, 2, 5, 2), (11, 8, 5, 2), (12, 8, 9, 2));
        var t = new CafEncoder(Meta, 1).Encode([p], 12, 12);
        Assert.Equal((19, 9, 12, 12), (t.Fields, t.Components, t.Height, t.Width));
        for (int y = 0; y < 12; y++)
            for (int x = 0; x < 12; x++)
            {
                bool on = x >= 3 && x <= 7 && y >= 4 && y <= 6;
                Assert.Equal(on ? 1f : 0f, t[5, 0, y, x]);
                if (!on) continue;
                Assert.Equal(2f - x, t[5, 1, y, x]);
                Assert.Equal(5f - y, t[5, 2, y, x]);
                Assert.Equal(8f - x, t[5, 3, y, x]);
                Assert.Equal(5f - y, t[5, 4, y, x]);
                Assert.Equal(0.1f, t[5, 5, y, x]);
                Assert.Equal(0.1f, t[5, 6, y, x]);
            }
        // Limb 4 (hips, 11 -> 12) is labelled too; limb 0 (ankle, knee) is not.
        Assert.Equal(1f, t[4, 0, 7, 8]);
        Assert.Equal(0, CountWhere(t, 0, 0, v => v != 0));
    }

    [Fact]
    public void CafCellsTakeTheLimbWithTheSmallerPerpendicularDistance()
    {
        // Two parallel shoulder-hip limbs 2 cells apart (y 5 and y 7): row 6 is 1 from both (ties go to the later
        // person), row 5 belongs to the first and row 7 to the second.
        var a = Person((5, 2, 5, 2), (11, 8, 5, 2), (12, 8, 1, 2));
        var b = Person((5, 2, 7, 2), (11, 8, 7, 2), (12, 8, 11, 2));
        var t = new CafEncoder(Meta, 1).Encode([a, b], 12, 12);
        Assert.Equal(5f - 5, t[5, 2, 5, 4]);
        Assert.Equal(7f - 7, t[5, 2, 7, 4]);
        Assert.Equal(7f - 6, t[5, 2, 6, 4]);
    }

    [Fact]
    public void ALimbNeedsBothJointsAndOneInsideTheField()
    {
        var outside = Person((5, -20, -20, 2), (11, -10, -30, 2), (12, 8, 9, 2));
        var t = new CafEncoder(Meta, 1).Encode([outside], 12, 12);
        Assert.Equal(0, CountWhere(t, 5, 0, v => v != 0));
        var half = Person((5, -2, 5, 2), (11, 6, 5, 2), (12, 8, 9, 2));
        Assert.True(CountWhere(new CafEncoder(Meta, 1).Encode([half], 12, 12), 5, 0, v => v == 1) > 0);
    }

    [Fact]
    public void EncodingAFlippedSceneEqualsFlippingTheFields()
    {
        // Two fully visible persons at generic positions (a fully labelled person's scale does not depend on
        // which side is left), 161 x 121 pixels at stride 8.
        var rng = new Random(5);
        var anns = new List<FieldAnnotation>();
        for (int p = 0; p < 2; p++)
        {
            var k = new float[51];
            for (int j = 0; j < 17; j++)
            {
                k[3 * j] = (float)(20 + 60 * p + rng.NextDouble() * 50);
                k[3 * j + 1] = (float)(10 + rng.NextDouble() * 100);
                k[3 * j + 2] = 2;
            }
            anns.Add(new FieldAnnotation(k, (0, 0, 160, 120)));
        }
        var flipped = anns.Select(a => a.HFlip(161, Meta.KeypointFlip)).ToList();
        var cif = new CifEncoder(Meta, 8);
        var caf = new CafEncoder(Meta, 8);
        AssertSame(FieldFlip.CifTarget(cif.Encode(anns, 161, 121), Meta), cif.Encode(flipped, 161, 121));
        AssertSame(FieldFlip.CafTarget(caf.Encode(anns, 161, 121), Meta), caf.Encode(flipped, 161, 121));
    }

    private static void AssertSame(FieldTensor expected, FieldTensor actual)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        int targets = 0;
        for (int i = 0; i < expected.Data.Length; i++)
        {
            float e = expected.Data[i], a = actual.Data[i];
            Assert.True(float.IsNaN(e) == float.IsNaN(a), $"element {i}: {e} vs {a}");
            if (!float.IsNaN(e)) Assert.True(Math.Abs(e - a) < 1e-4, $"element {i}: {e} vs {a}");
            if (e == 1 && i % (expected.Components * expected.Height * expected.Width) < expected.Height * expected.Width) targets++;
        }
        Assert.True(targets > 20);
    }
}
