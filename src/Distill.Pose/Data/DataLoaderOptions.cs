namespace Distill.Pose.Data;

/// <summary>Batching and threading of a <see cref="DataLoader{TItem, TBatch}"/>.</summary>
public sealed record DataLoaderOptions
{
    public int BatchSize { get; init; } = 32;

    /// <summary>Background threads that load and augment samples (and collate the batches they complete).</summary>
    public int Workers { get; init; } = 2;

    /// <summary>How many batches may be in flight or waiting ahead of the consumer; bounds memory.</summary>
    public int PrefetchBatches { get; init; } = 4;

    /// <summary>Drop a last batch smaller than <see cref="BatchSize"/>.</summary>
    public bool DropLast { get; init; }

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (BatchSize <= 0) errors.Add($"{nameof(BatchSize)} must be positive, got {BatchSize}");
        if (Workers <= 0) errors.Add($"{nameof(Workers)} must be positive, got {Workers}");
        if (PrefetchBatches <= 0) errors.Add($"{nameof(PrefetchBatches)} must be positive, got {PrefetchBatches}");
        return errors;
    }
}
