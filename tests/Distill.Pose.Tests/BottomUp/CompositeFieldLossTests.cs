using Distill.Pose.BottomUp;
using Distill.Pose.BottomUp.Encoders;
using Distill.Pose.BottomUp.Losses;
using Distill.Torch;

namespace Distill.Pose.Tests.BottomUp;

/// <summary>Expected values are the formulas worked by hand (numbers in the comments, to the digits shown).</summary>
public sealed class CompositeFieldLossTests
{
    private const float N = float.NaN;

    /// <summary>A one-field, one-cell CIF prediction [spread, conf, dx, dy, scale] and target [conf, dx, dy, bmin, scale].</summary>
    private static Dictionary<string, double> Cif(float[] prediction, float[] target, int batch = 1)
    {
        var p = Enumerable.Repeat(prediction, batch).SelectMany(v => v).ToArray();
        var t = Enumerable.Repeat(target, batch).SelectMany(v => v).ToArray();
        using var x = torch.FromArray(p, [batch, 1, 5, 1, 1]);
        using var y = torch.FromArray(t, [batch, 1, 5, 1, 1]);
        var terms = CompositeFieldLoss.Cif().Forward(x, y);
        var values = terms.ToDictionary(kv => kv.Key, kv => kv.Value.ItemDouble());
        foreach (var v in terms.Values) v.Dispose();
        return values;
    }

    [Fact]
    public void TermsAreNamedPerHead()
    {
        Assert.Equal(["cif.c", "cif.vec", "cif.scales"], CompositeFieldLoss.Cif().TermNames);
        Assert.Equal(["caf.c", "caf.vec", "caf.scales"], CompositeFieldLoss.Caf().TermNames);
        Assert.Equal(["cif.c", "cif.vec", "cif.scales"], Cif([0, 0, 0, 0, 0], [0, N, N, N, N]).Keys);
    }

    [Fact]
    public void PositiveConfidenceAtZeroLogit()
    {
        // x = 0, t = 1: p = 1 / (1 + e^0) = 0.5, F = 0.5 (0.5 + 0.5 softplus(0)) = 0.5 (0.5 + 0.346574) = 0.423287,
        // SmoothL1 of p F = 0.211643 is 0.5 0.211643^2 = 0.022396; L = 0 -> 0.5 l e^0 + 0 = 0.011198.
        Assert.Equal(0.011198231933742548, Cif([0, 0, N, N, N], [1, N, N, N, N])["cif.c"], 6);
    }

    [Fact]
    public void PositiveConfidenceWithALearnedSpread()
    {
        // x = -3, t = 1, x0 = 1.5: p = 1 / (1 + e^-3) = 0.952574, softplus(3) = 3.048587,
        // F = 0.5 (0.952574 + 0.047426 3.048587) = 0.548578, pF = 0.522562 -> 0.136536;
        // L = 3 tanh(0.5) = 1.386351 -> 0.5 0.136536 e^-1.386351 + 0.693176 = 0.710242.
        Assert.Equal(0.7102416511776145, Cif([1.5f, -3, N, N, N], [1, N, N, N, N])["cif.c"], 5);
    }

    [Fact]
    public void BackgroundConfidenceAndItsCutOff()
    {
        // x = 2, t = 0: p = 1 / (1 + e^-2) = 0.880797, softplus(2) = 2.126928,
        // F = 0.5 (0.880797 + 0.119203 2.126928) = 0.567167, pF = 0.499561 -> 0.5 0.499561^2 = 0.124779.
        // The spread does not touch background cells.
        Assert.Equal(0.12477941998427264, Cif([0.9f, 2, N, N, N], [0, N, N, N, N])["cif.c"], 6);
        // x = -3, t = 0: p = 1 / (1 + e^3) = 0.047426, softplus(-3) = 0.048587,
        // F = 0.5 (0.047426 + 0.952574 0.048587) = 0.046854, pF = 0.002222 -> 2.468895e-6.
        Assert.Equal(2.468895e-6, Cif([0, -3, N, N, N], [0, N, N, N, N])["cif.c"], 9); // float32: x + pF keeps ~7 digits
        // Below -15 a background cell gives exactly nothing.
        Assert.Equal(0.0, Cif([0, -20, N, N, N], [0, N, N, N, N])["cif.c"]);
    }

    [Fact]
    public void SoftClampKeepsUpToFiveAndLogsBeyond()
    {
        using var l = torch.From(0.5f, 5f, 6f, 104f);
        using var c = CompositeFieldLoss.SoftClamp(l);
        var v = c.ToArray<float>();
        Assert.Equal(0.5f, v[0]);
        Assert.Equal(5f, v[1]);
        Assert.Equal(5 + Math.Log(2), v[2], 5);
        Assert.Equal(5 + Math.Log(100), v[3], 5);
    }

    [Fact]
    public void VectorLaplaceWithBminAndTargetScale()
    {
        // Prediction (0, 0), target (0.3, -0.4), bmin 0.1: d = sqrt(0.09 + 0.16 + 0.01) = 0.509902; scale 2 ->
        // l = 0.509902 / 1; x0 = 0 -> log b = ln 2: 0.509902 / 2 + 0.693147 = 0.948098.
        Assert.Equal(0.9480981562395845, Cif([0, 0, 0, 0, 0], [1, 0.3f, -0.4f, 0.1f, 2])["cif.vec"], 5);
        // d = 5 with scale 1: l = 10, clamped to 5 + ln 6 = 6.791759; / 2 + ln 2 = 4.089027 (bmin NaN counts as 0.1).
        Assert.Equal(4.0890, Cif([0, 0, 3, 4, 0], [1, 0, 0, N, 1])["cif.vec"], 3);
    }

    [Fact]
    public void VectorWithoutScaleTargetUsesTheDetachedPredictedScale()
    {
        // softplus(x) = 2 for x = ln(e^2 - 1): same as a target scale of 2.
        float x = (float)Math.Log(Math.Exp(2) - 1);
        Assert.Equal(0.9480981562395845, Cif([0, 0, 0, 0, x], [1, 0.3f, -0.4f, 0.1f, N])["cif.vec"], 5);
    }

    [Fact]
    public void BothCafVectorsShareTheFieldsSpread()
    {
        // x0 = 1.5: L = 1.386351, log b = 0.693176 + 0.693147 = 1.386323.
        // vec1: d = 0.509902, scale 2 -> 0.509902 e^-1.386323 + 1.386323 = 1.513807;
        // vec2: d = sqrt(1 + 0.01) = 1.004988, scale 4 -> 0.502494 e^-1.386323 + 1.386323 = 1.511930. Sum 3.025738.
        using var x = torch.FromArray(new float[] { 1.5f, 0, 0, 0, 1, 0, 0, 0 }, [1, 1, 8, 1, 1]);
        using var t = torch.FromArray(new float[] { 1, 0.3f, -0.4f, 0, 0, 0.1f, 0.1f, 2, 4 }, [1, 1, 9, 1, 1]);
        var terms = CompositeFieldLoss.Caf().Forward(x, t);
        Assert.Equal(3.0257375387833636, terms["caf.vec"].ItemDouble(), 5);
        foreach (var v in terms.Values) v.Dispose();
    }

    [Fact]
    public void ScaleTermIsRelativeSmoothL1()
    {
        // softplus(x) = 3, target 2: |3 - 2| / (0.1 + 2) = 0.476190 -> 0.5 0.476190^2 = 0.113379.
        float x = (float)Math.Log(Math.Exp(3) - 1);
        Assert.Equal(0.11337868480725623, Cif([0, 0, 0, 0, x], [1, 0, 0, 0.1f, 2])["cif.scales"], 5);
        // softplus = 30: 28 / 2.1 = 13.333 -> 5 + ln 9.333 = 7.233592 -> 7.233592 - 0.5 = 6.733592.
        Assert.Equal(6.733592221507094, Cif([0, 0, 0, 0, 30], [1, 0, 0, 0.1f, 2])["cif.scales"], 4);
        // b-scale 2 halves the relative error: 0.238095 -> 0.028345.
        using var p = torch.FromArray(new float[] { 0, 0, 0, 0, x }, [1, 1, 5, 1, 1]);
        using var q = torch.FromArray(new float[] { 1, 0, 0, 0.1f, 2 }, [1, 1, 5, 1, 1]);
        var terms = CompositeFieldLoss.Cif(scaleB: 2).Forward(p, q);
        Assert.Equal(0.5 * Math.Pow(1 / 4.2, 2), terms["cif.scales"].ItemDouble(), 5);
        foreach (var v in terms.Values) v.Dispose();
    }

    [Fact]
    public void TermsAreSumsOverCellsDividedByTheBatch()
    {
        var one = Cif([0.2f, 0.3f, 0.1f, -0.2f, 0.4f], [1, 0.3f, -0.4f, 0.1f, 2]);
        var three = Cif([0.2f, 0.3f, 0.1f, -0.2f, 0.4f], [1, 0.3f, -0.4f, 0.1f, 2], batch: 3);
        foreach (var k in one.Keys) Assert.Equal(one[k], three[k], 5);
    }

    [Fact]
    public void MaskedCrowdRegionsGiveNoLossAndNoGradient()
    {
        // A crowd covering the left half of a 64 x 64 image at stride 8 (9 x 9 cells), one person on the right.
        var meta = CifCafMeta.Coco();
        var crowd = new FieldAnnotation(new float[51], (0, 0, 24, 64), IsCrowd: true);
        var k = new float[51];
        for (int j = 0; j < 17; j++) (k[3 * j], k[3 * j + 1], k[3 * j + 2]) = (44 + j % 3 * 4, 8 + 3 * j, 2);
        var person = new FieldAnnotation(k, (40, 8, 16, 50));
        var cifTarget = new CifEncoder(meta, 8).Encode([crowd, person], 65, 65);
        var cafTarget = new CafEncoder(meta, 8).Encode([crowd, person], 65, 65);
        Assert.True(float.IsNaN(cifTarget[0, 0, 4, 1]));

        foreach (var (target, loss, comps) in new[] { (cifTarget, CompositeFieldLoss.Cif(), 5), (cafTarget, CompositeFieldLoss.Caf(), 8) })
        {
            using var t = FieldTensor.Stack([target]);
            using var p0 = torch.Randn([1, target.Fields, comps, 9, 9], new Generator(3));
            // Wild predictions in every cell whose target is all NaN (the crowd), the same elsewhere.
            using var masked = t.Select(2, 0).IsNan().Unsqueeze(2).Expand(1, target.Fields, comps, 9, 9);
            using var wild = torch.Randn([1, target.Fields, comps, 9, 9], new Generator(4)) * 50;
            using var p1 = torch.Where(masked, wild, p0);
            using var p1Grad = p1.Detach();
            p1Grad.RequiresGrad_(true);
            var a = loss.Forward(p0, t);
            var b = loss.Forward(p1Grad, t);
            foreach (var name in loss.TermNames) Assert.Equal(a[name].ItemDouble(), b[name].ItemDouble(), 5);
            using var total = b[loss.TermNames[0]] + b[loss.TermNames[1]] + b[loss.TermNames[2]];
            total.Backward();
            using var g = p1Grad.Grad!.Abs().MaskedSelect(masked.LogicalAnd(t.Select(2, 1).IsNan().Unsqueeze(2).Expand(1, target.Fields, comps, 9, 9)));
            Assert.True(g.NumEl > 0);
            Assert.Equal(0.0, g.Sum().ItemDouble());
            foreach (var v in a.Values.Concat(b.Values)) v.Dispose();
        }
    }
    /// <summary>
    /// The head's conv output is channels-last in training; reshaped to (N, F, C, H, W) it is a permuted view. The loss
    /// gradient must not depend on that layout, and where the loss is a plain function of the prediction (spread,
    /// vectors, scales; the confidence term's target is a detached shift by design) it must match finite differences.
    /// </summary>
    [Fact]
    public void GradientIsTheSameForAChannelsLastPredictionAndMatchesFiniteDifferences()
    {
        const int n = 2, f = 2, c = 5, h = 4, w = 4, plane = h * w;
        var rnd = new Random(3);
        var t = new float[n * f * 5 * plane];
        Array.Fill(t, N);
        for (int nf = 0; nf < n * f; nf++)
            for (int i = 0; i < plane; i++)
            {
                int at = nf * 5 * plane + i;
                double u = rnd.NextDouble();
                t[at] = u < 0.4 ? 1 : u < 0.9 ? 0 : N;
                if (!(t[at] > 0)) continue;
                t[at + plane] = (float)(2 * rnd.NextDouble() - 1);
                t[at + 2 * plane] = (float)(2 * rnd.NextDouble() - 1);
                t[at + 3 * plane] = 0.1f;
                t[at + 4 * plane] = (float)(1 + rnd.NextDouble());
            }
        var p = Enumerable.Range(0, n * f * c * plane).Select(_ => 2 * rnd.NextDouble() - 1).ToArray();
        var loss = CompositeFieldLoss.Cif();
        using var target = torch.FromArray(t, [n, f, 5, h, w]).To(DType.Float64);
        double Total(Tensor prediction)
        {
            var terms = loss.Forward(prediction, target);
            double sum = terms.Values.Sum(v => v.ItemDouble());
            foreach (var v in terms.Values) v.Dispose();
            return sum;
        }
        double[] Gradient(Tensor leaf, Tensor prediction)
        {
            var terms = loss.Forward(prediction, target);
            using (var total = terms.Values.Aggregate((a, b) => a + b)) total.Backward();
            foreach (var v in terms.Values) v.Dispose();
            using var g = leaf.Grad!.Contiguous();
            return g.ToArray<double>();
        }

        using var flat = torch.FromArray(p, [n, f, c, h, w]).RequiresGrad_();
        var expected = Gradient(flat, flat);
        using var cl = torch.FromArray(p, [n, f * c, h, w]).Contiguous(MemoryFormat.ChannelsLast).RequiresGrad_();
        using var view = cl.Reshape(n, f, c, h, w);
        var actual = Gradient(cl, view);
        for (int i = 0; i < p.Length; i++) Assert.Equal(expected[i], actual[i], 10);

        for (int i = 0; i < p.Length; i++)
        {
            if (i / plane % c == 1) continue; // confidence
            var up = (double[])p.Clone();
            var down = (double[])p.Clone();
            up[i] += 1e-6;
            down[i] -= 1e-6;
            using var pu = torch.FromArray(up, [n, f, c, h, w]);
            using var pd = torch.FromArray(down, [n, f, c, h, w]);
            double numeric = (Total(pu) - Total(pd)) / 2e-6;
            Assert.True(Math.Abs(numeric - expected[i]) < 1e-5 * (1 + Math.Abs(numeric)), $"element {i}: autograd {expected[i]} vs finite difference {numeric}");
        }
    }
}
