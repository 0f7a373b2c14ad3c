namespace Distill.Pose.Datasets;

/// <summary>An image of a dataset. Width and Height are 0 when the annotation file does not give them (MPII).</summary>
public sealed record ImageInfo(long Id, string FileName, string Path, int Width, int Height);
