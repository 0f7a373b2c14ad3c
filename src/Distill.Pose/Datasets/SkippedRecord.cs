namespace Distill.Pose.Datasets;

/// <summary>A record dropped because something is wrong with it (listed individually in <see cref="LoadReport"/>).</summary>
public sealed record SkippedRecord(string Record, SkipReason Reason, string Message)
{
    public override string ToString() => $"{Record}: {Reason}: {Message}";
}
