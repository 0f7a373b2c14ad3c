namespace Distill.Pose.Datasets;

/// <summary>
/// Deterministic epoch orders over a <see cref="CombinedDataset"/> in which each source contributes in proportion
/// to its ratio.
/// </summary>
/// <remarks>
/// The rule:
/// <list type="number">
/// <item>Source s (n_s instances, ratio r_s) contributes q_s = round(r_s x n_s) draws per epoch, rounding halves to
/// even (so epoch lengths equal those of mmpose's CombinedDataset with sample_ratio_factor). The epoch length is the
/// sum of the q_s.</item>
/// <item>Each source has an endless stream made of successive passes; pass p is a permutation of 0..n_s-1 drawn
/// from (seed, source, p). Epoch e takes positions [e q_s, (e + 1) q_s) of that stream. So with r_s = 0.5 two
/// consecutive epochs visit every instance once, and with r_s = 2.5 every instance is drawn 2 or 3 times; no
/// instance is drawn twice before all have been drawn once. (mmpose instead picks one random instance in each of
/// q_s equal strides of the source, anew every time; our rule is reproducible and covers the data evenly.)</item>
/// <item>The draws of all sources, as combined indices, are shuffled together with a generator drawn from
/// (seed, epoch).</item>
/// </list>
/// The order depends only on (seed, epoch, source sizes, ratios): resuming at epoch e reproduces it exactly.
/// </remarks>
public sealed class RatioEpochSampler
{
    private readonly int[] _sizes;
    private readonly int[] _offsets;
    private readonly int[] _quotas;

    public RatioEpochSampler(CombinedDataset dataset)
        : this(dataset.Sources.Select(s => s.Dataset.Count).ToArray(), dataset.Sources.Select(s => s.Ratio).ToArray())
    {
    }

    /// <summary>Sampler over sources of the given sizes, laid out one after another in index space.</summary>
    public RatioEpochSampler(IReadOnlyList<int> sizes, IReadOnlyList<double> ratios)
    {
        if (sizes.Count != ratios.Count) throw new ArgumentException($"{sizes.Count} sizes but {ratios.Count} ratios");
        _sizes = sizes.ToArray();
        _offsets = new int[_sizes.Length];
        _quotas = new int[_sizes.Length];
        long offset = 0, total = 0;
        for (int s = 0; s < _sizes.Length; s++)
        {
            if (_sizes[s] < 0) throw new ArgumentException($"source {s} has negative size {_sizes[s]}");
            if (!double.IsFinite(ratios[s]) || ratios[s] < 0) throw new ArgumentException($"source {s}: ratio must be finite and >= 0, got {ratios[s]}");
            _offsets[s] = (int)offset;
            offset += _sizes[s];
            double q = Math.Round(ratios[s] * _sizes[s], MidpointRounding.ToEven);
            if (q > int.MaxValue) throw new ArgumentException($"source {s}: {q} draws per epoch is too many");
            _quotas[s] = _sizes[s] == 0 ? 0 : (int)q;
            total += _quotas[s];
        }
        if (total > int.MaxValue) throw new ArgumentException($"epoch length {total} is too large");
        EpochLength = (int)total;
    }

    /// <summary>Draws per epoch, the sum of the per-source quotas.</summary>
    public int EpochLength { get; }

    /// <summary>Draws from source <paramref name="source"/> per epoch.</summary>
    public int Quota(int source) => _quotas[source];

    /// <summary>The combined-dataset indices of epoch <paramref name="epoch"/> (0-based), in training order.</summary>
    public int[] Indices(long seed, int epoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        var order = new int[EpochLength];
        int at = 0;
        for (int s = 0; s < _sizes.Length; s++)
        {
            int n = _sizes[s], q = _quotas[s];
            if (q == 0) continue;
            long start = (long)epoch * q;
            long pass = -1;
            int[] perm = [];
            for (long j = start; j < start + q; j++)
            {
                long p = j / n;
                if (p != pass)
                {
                    pass = p;
                    perm = Enumerable.Range(0, n).ToArray();
                    SplitMix64.ForStream(seed, 1, s, p).Shuffle(perm);
                }
                order[at++] = _offsets[s] + perm[(int)(j % n)];
            }
        }
        SplitMix64.ForStream(seed, 2, epoch).Shuffle(order);
        return order;
    }
}
