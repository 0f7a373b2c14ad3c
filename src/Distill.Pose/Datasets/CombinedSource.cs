namespace Distill.Pose.Datasets;

/// <summary>One dataset of a <see cref="CombinedDataset"/> and its sampling ratio (instances drawn per epoch = ratio x size).</summary>
public sealed record CombinedSource(PoseDataset Dataset, double Ratio = 1.0);
