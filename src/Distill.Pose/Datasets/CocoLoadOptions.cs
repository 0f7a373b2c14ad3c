using Distill.Pose.Keypoints;

namespace Distill.Pose.Datasets;

/// <summary>Options of <see cref="CocoKeypointDataset.Load"/>.</summary>
public sealed record CocoLoadOptions
{
    public DatasetMode Mode { get; init; } = DatasetMode.Train;

    /// <summary>Folder that image file names are relative to; default: the annotation file's folder.</summary>
    public string? ImageRoot { get; init; }

    /// <summary>Keypoint order of the file; default <c>coco17</c>. The category's keypoint names must match it.</summary>
    public KeypointSet? KeypointSet { get; init; }

    /// <summary>Stamped on every instance as <see cref="PoseInstance.SourceName"/>.</summary>
    public string SourceName { get; init; } = "coco";

    /// <summary>Skip malformed records (counted and listed in the report) instead of failing on the first one.</summary>
    public bool SkipBad { get; init; }

    /// <summary>Accept image names that are absolute or climb out of <see cref="ImageRoot"/> with <c>..</c> (refused by default).</summary>
    public bool AllowOutsideRoot { get; init; }

    /// <summary>Full paths of images to leave out (unreadable files found by a pre-flight); their records are counted as <see cref="SkipReason.BadImage"/>.</summary>
    public IReadOnlySet<string>? ExcludedImages { get; init; }

    public CocoBoxClipping BoxClipping { get; init; } = CocoBoxClipping.Corners;

    /// <summary>
    /// COCO results file of person detections. When set, instances are the detected boxes (no keypoints, weight 0)
    /// and <see cref="CocoKeypointDataset.GroundTruth"/> holds the annotations; the mode is always Evaluation.
    /// </summary>
    public string? DetectionsPath { get; init; }

    /// <summary>Detections scoring below this are dropped (mmpose's bbox_score_thr).</summary>
    public float DetectionScoreThreshold { get; init; }
}
