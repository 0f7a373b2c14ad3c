using Distill.Training.Logging;

namespace Distill.Training.Tests.Logging;

public class HistogramBucketsTests
{
    [Fact]
    public void DefaultLimitsGrowByTenPercentFromOneePicoToOneeTwenty()
    {
        var limits = HistogramBuckets.DefaultLimits;

        // Positive edges 1e-12 * 1.1^k for k = 0..773 (1.1^773 * 1e-12 ~ 9.1e19 < 1e20 <= 1.1^774 * 1e-12),
        // plus double.MaxValue: 775 per side, mirrored, and 0 in the middle -> 2 * 775 + 1.
        Assert.Equal(1551, limits.Count);
        Assert.Equal(0.0, limits[775]);
        Assert.Equal(1e-12, limits[776]);
        Assert.Equal(-1e-12, limits[774]);
        Assert.Equal(double.MaxValue, limits[^1]);
        Assert.Equal(-double.MaxValue, limits[0]);
        Assert.InRange(limits[^2], 9e19, 1e20);
        for (int i = 777; i < limits.Count - 1; i++) Assert.Equal(1.1, limits[i] / limits[i - 1], 1e-9);
        for (int i = 0; i < limits.Count; i++) Assert.Equal(-limits[i], limits[^(i + 1)]);
    }

    [Fact]
    public void ValuesGoToTheFirstEdgeAboveThem()
    {
        var limits = HistogramBuckets.DefaultLimits;
        // 1e-12 * 1.1^290 = exp(290 ln 1.1 - 12 ln 10) = exp(27.6400 - 27.6310) ~ 1.0090, and 1.1^289 * 1e-12 ~ 0.9173.
        Assert.Equal(1.0090, limits[HistogramBuckets.BucketIndex(1.0)], 1e-4);
        // An edge itself belongs to the bucket above it: [previous, limit).
        Assert.Equal(limits[777], limits[HistogramBuckets.BucketIndex(1e-12)]);
        Assert.Equal(1e-12, limits[HistogramBuckets.BucketIndex(0.0)]);
        Assert.Equal(0.0, limits[HistogramBuckets.BucketIndex(-1e-13)]);
        Assert.Equal(limits.Count - 1, HistogramBuckets.BucketIndex(double.MaxValue));
        // -double.MaxValue is the lowest edge, so the most negative finite values land just above it, in bucket 1.
        Assert.Equal(1, HistogramBuckets.BucketIndex(-1e300));
        Assert.Equal(1, HistogramBuckets.BucketIndex(-double.MaxValue));
    }

    [Fact]
    public void EmptyRunsInsideTheSpanCollapseToOneBucket()
    {
        var h = HistogramBuckets.Build([-1f, 1f, 1f]);

        // -1 -> edge in (-1, -1/1.1]; 1 -> edge ~1.0090; everything between is one empty bucket whose edge is the
        // left edge of the bucket holding 1, i.e. 1.0090 / 1.1.
        Assert.Equal(3, h.Bucket.Count);
        Assert.Equal([1.0, 0.0, 2.0], h.Bucket);
        Assert.InRange(h.BucketLimit[0], -1.0 + 1e-12, -1.0 / 1.1);
        Assert.Equal(h.BucketLimit[2] / 1.1, h.BucketLimit[1], 1e-9);
        Assert.Equal(1.0090, h.BucketLimit[2], 1e-4);
    }

    [Fact]
    public void CountsAddUpForManyValues()
    {
        var random = new Random(3);
        var values = new float[10_000];
        for (int i = 0; i < values.Length; i++) values[i] = (float)((random.NextDouble() - 0.3) * Math.Pow(10, random.Next(-6, 6)));

        var h = HistogramBuckets.Build(values);

        Assert.Equal(values.Length, h.Num);
        Assert.Equal(values.Length, h.Bucket.Sum());
        Assert.Equal(values.Min(), h.Min);
        Assert.Equal(values.Max(), h.Max);
        Assert.Equal(values.Sum(v => (double)v), h.Sum, 1e-6);
        // Each bucket's count equals the number of values between the previous default edge and its edge.
        var limits = HistogramBuckets.DefaultLimits;
        for (int b = 0; b < h.Bucket.Count; b++)
        {
            if (h.Bucket[b] == 0) continue;
            int at = IndexOf(limits, h.BucketLimit[b]);
            double lower = limits[at - 1], upper = limits[at];
            Assert.Equal(values.Count(v => v >= lower && v < upper), h.Bucket[b]);
        }
    }

    private static int IndexOf(IReadOnlyList<double> limits, double edge)
    {
        for (int i = 0; i < limits.Count; i++) if (limits[i] == edge) return i;
        throw new InvalidOperationException($"{edge} is not a default edge");
    }
}
