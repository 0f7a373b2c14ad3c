namespace Distill.Pose.Data;

/// <summary>
/// A batch handed to the consumer: its position in the epoch, the collated value, and how long the consumer was
/// blocked waiting for it (zero when the workers were ahead).
/// </summary>
public sealed record LoadedBatch<TBatch>(int Index, TBatch Value, TimeSpan DataWait);
