namespace Distill.Pose.Datasets;

/// <summary>An image of a dataset. Width and Height are 0 when the annotation file does not give them (MPII).</summary>
public sealed record ImageInfo(long Id, string FileName, string Path, int Width, int Height)
{
    /// <summary>CrowdPose's crowd index of the image (its <c>crowdIndex</c>), when the annotation file gives one.</summary>
    public double? CrowdIndex { get; init; }
}
