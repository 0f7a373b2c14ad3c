namespace Distill.Pose.Datasets;

/// <summary>Why a record did not become an instance.</summary>
public enum SkipReason
{
    /// <summary>A crowd region (iscrowd = 1): kept for evaluation only.</summary>
    Crowd,

    /// <summary>No labelled keypoint (num_keypoints = 0 or all keypoint values 0).</summary>
    NoKeypoints,

    /// <summary>Box width or height at most 1 px, or nothing left after clipping to the image.</summary>
    DegenerateBox,

    /// <summary>Box entirely outside the image.</summary>
    BoxOutsideImage,

    /// <summary>A NaN or infinite coordinate, box value, area or score.</summary>
    NonFinite,

    /// <summary>A category other than the keypoint (person) category.</summary>
    OtherCategory,

    /// <summary>Detection score below the threshold.</summary>
    BelowScoreThreshold,

    /// <summary>Refers to an image id the annotation file does not list.</summary>
    UnknownImage,

    /// <summary>Malformed record (missing field, wrong type, wrong length) skipped because skip-bad was requested.</summary>
    BadRecord,

    /// <summary>Its image file is missing or unreadable, skipped because skip-bad was requested.</summary>
    BadImage,
}
