namespace Distill.Pose.Datasets;

/// <summary>One person box from a detector, as in a COCO results file.</summary>
/// <param name="Index">Position of the entry in the file (0-based), used as the instance id.</param>
public sealed record PersonDetection(int Index, long ImageId, BoundingBox Bbox, float Score, long CategoryId);
