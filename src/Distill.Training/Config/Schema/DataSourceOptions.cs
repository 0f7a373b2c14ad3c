using System.ComponentModel.DataAnnotations;
using Distill.Config;

namespace Distill.Training.Config.Schema;

public enum DataFormat
{
    [ConfigName("coco")]
    Coco,

    [ConfigName("mpii")]
    Mpii,
}

/// <summary>One annotated dataset (its training split, and optionally its validation split).</summary>
public sealed class DataSourceOptions
{
    /// <summary>Short name, used in logs and metric prefixes.</summary>
    [Required]
    public string Name { get; set; } = "";

    [Required]
    public DataFormat Format { get; set; }

    /// <summary>Training annotations (COCO json or MPII json).</summary>
    [Required]
    public string AnnFile { get; set; } = "";

    [Required]
    public string ImgDir { get; set; } = "";

    /// <summary>Keypoint set of the annotations; null means the format's own (coco17 or mpii16).</summary>
    public string? KeypointSet { get; set; }

    /// <summary>Relative sampling weight among the sources.</summary>
    [Range(0.0, double.MaxValue)]
    public double Ratio { get; set; } = 1.0;

    public string? ValAnnFile { get; set; }

    public string? ValImgDir { get; set; }

    /// <summary>Person detections to evaluate on instead of ground-truth boxes (COCO results json).</summary>
    public string? BboxFile { get; set; }

    /// <summary>Skip malformed annotation records (with a warning) instead of failing on the first one.</summary>
    public bool SkipBad { get; set; }

    /// <summary>
    /// Accept image names (COCO file_name, MPII image) that are absolute or leave the image folder through "..";
    /// by default such a record is an error naming it.
    /// </summary>
    public bool AllowOutsideRoot { get; set; }
}
