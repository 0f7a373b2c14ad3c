using Distill.Training.Logging.Proto;

namespace Distill.Training.Logging;

/// <summary>
/// TensorBoard's default histogram bucketing: right edges that grow by 10 % from 1e-12 up to 1e20, mirrored for
/// negative values, with 0 in the middle and +-double.MaxValue at the ends. Because the edges are fixed, histograms of
/// different steps share bins and TensorBoard can draw them as one distribution over time.
/// </summary>
public static class HistogramBuckets
{
    private static readonly double[] Limits = BuildLimits();

    /// <summary>All default right edges, ascending (1551 values).</summary>
    public static IReadOnlyList<double> DefaultLimits => Limits;

    /// <summary>
    /// Counts <paramref name="values"/> into the default buckets. Value v falls in the bucket whose right edge is the
    /// first limit greater than v (so each bucket is [previous limit, limit)). The proto keeps only the span from the
    /// first to the last non-empty bucket and merges each run of empty buckets inside it into one, which keeps
    /// records small while every edge that matters survives.
    /// </summary>
    /// <exception cref="ArgumentException">No values, or a NaN or infinite value.</exception>
    public static HistogramProto Build(ReadOnlySpan<float> values)
    {
        if (values.IsEmpty) throw new ArgumentException("a histogram needs at least one value", nameof(values));
        var counts = new long[Limits.Length];
        double min = double.PositiveInfinity, max = double.NegativeInfinity, sum = 0, sumSquares = 0;
        for (int i = 0; i < values.Length; i++)
        {
            double v = values[i];
            if (!double.IsFinite(v)) throw new ArgumentException($"value {i} is {v}; histograms take finite values only", nameof(values));
            min = Math.Min(min, v);
            max = Math.Max(max, v);
            sum += v;
            sumSquares += v * v;
            counts[BucketIndex(v)]++;
        }

        var proto = new HistogramProto { Min = min, Max = max, Num = values.Length, Sum = sum, SumSquares = sumSquares };
        int first = Array.FindIndex(counts, c => c != 0);
        int last = Array.FindLastIndex(counts, c => c != 0);
        for (int i = first; i <= last; i++)
        {
            if (counts[i] == 0)
            {
                while (counts[i + 1] == 0) i++; // 'last' is non-empty, so the run ends inside the span
            }
            proto.BucketLimit.Add(Limits[i]);
            proto.Bucket.Add(counts[i]);
        }
        return proto;
    }

    /// <summary>Index of the first limit strictly greater than <paramref name="value"/> (the last bucket if none).</summary>
    internal static int BucketIndex(double value)
    {
        int lo = 0, hi = Limits.Length - 1;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (Limits[mid] > value) hi = mid;
            else lo = mid + 1;
        }
        return lo;
    }

    private static double[] BuildLimits()
    {
        var positive = new List<double>();
        for (double v = 1e-12; v < 1e20; v *= 1.1) positive.Add(v);
        positive.Add(double.MaxValue);

        var limits = new double[positive.Count * 2 + 1];
        for (int i = 0; i < positive.Count; i++)
        {
            limits[positive.Count - 1 - i] = -positive[i];
            limits[positive.Count + 1 + i] = positive[i];
        }
        limits[positive.Count] = 0.0;
        return limits;
    }
}
