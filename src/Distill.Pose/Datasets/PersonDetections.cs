namespace Distill.Pose.Datasets;

/// <summary>Detections kept from a results file, and the report of those dropped.</summary>
public sealed record PersonDetections(IReadOnlyList<PersonDetection> Detections, LoadReport Report);
