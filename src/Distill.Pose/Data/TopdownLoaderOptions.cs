namespace Distill.Pose.Data;

/// <summary>Settings of a <see cref="TopdownDataLoader"/> beyond the pipeline's.</summary>
public sealed record TopdownLoaderOptions
{
    public DataLoaderOptions Loader { get; init; } = new();

    /// <summary>Base seed; with the epoch and the sample's dataset index it fixes every random draw.</summary>
    public ulong Seed { get; init; }

    /// <summary>Decoded images kept in memory; 0 (the default) decodes on every use.</summary>
    public int ImageCacheCapacity { get; init; }
}
