using Distill.Pose.Keypoints;

namespace Distill.Pose.Datasets;

/// <summary>Options of <see cref="MpiiDataset.Load"/>.</summary>
public sealed record MpiiLoadOptions
{
    /// <summary>Folder that image names are relative to; default: the annotation file's folder.</summary>
    public string? ImageRoot { get; init; }

    /// <summary>Keypoint order of the file; default <c>mpii16</c>.</summary>
    public KeypointSet? KeypointSet { get; init; }

    public string SourceName { get; init; } = "mpii";

    /// <summary>Skip malformed records (counted and listed in the report) instead of failing on the first one.</summary>
    public bool SkipBad { get; init; }

    /// <summary>Accept image names that are absolute or climb out of <see cref="ImageRoot"/> with <c>..</c> (refused by default).</summary>
    public bool AllowOutsideRoot { get; init; }

    /// <summary>Full paths of images to leave out (unreadable files found by a pre-flight); their records are counted as <see cref="SkipReason.BadImage"/>.</summary>
    public IReadOnlySet<string>? ExcludedImages { get; init; }

    /// <summary>
    /// Head boxes (x1, y1, x2, y2 as <see cref="BoundingBox.FromCorners"/>) for PCKh, one per record in file order,
    /// e.g. read from <c>mpii_gt_val.mat</c>. Overrides any <c>headboxes</c> field in the records. The count must
    /// equal the number of records in the file.
    /// </summary>
    public IReadOnlyList<BoundingBox>? HeadBoxes { get; init; }

    /// <summary>
    /// Alternative to <see cref="HeadBoxes"/>: given (record index, image name), the head box or null. Overrides any
    /// <c>headboxes</c> field in the records when it returns a box.
    /// </summary>
    public Func<int, string, BoundingBox?>? HeadBoxLookup { get; init; }
}
