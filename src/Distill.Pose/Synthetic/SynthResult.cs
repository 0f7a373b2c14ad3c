namespace Distill.Pose.Synthetic;

/// <summary>What <see cref="Synth.Generate"/> wrote: counts per split and the annotation files (null for a skipped set).</summary>
public sealed record SynthResult
{
    public int CocoTrainImages { get; init; }
    public int CocoValImages { get; init; }
    public int CocoTrainAnnotations { get; init; }
    public int CocoValAnnotations { get; init; }
    public int MpiiTrainImages { get; init; }
    public int MpiiValImages { get; init; }
    public int MpiiTrainRecords { get; init; }
    public int MpiiValRecords { get; init; }

    public string? CocoTrainJson { get; init; }
    public string? CocoValJson { get; init; }
    public string? MpiiTrainJson { get; init; }
    public string? MpiiValJson { get; init; }

    public int AicTrainImages { get; init; }
    public int AicValImages { get; init; }
    public string? AicTrainJson { get; init; }
    public string? AicValJson { get; init; }
    public int CrowdPoseTrainImages { get; init; }
    public int CrowdPoseValImages { get; init; }
    public string? CrowdPoseTrainJson { get; init; }
    public string? CrowdPoseValJson { get; init; }

    public TimeSpan Elapsed { get; init; }
}
