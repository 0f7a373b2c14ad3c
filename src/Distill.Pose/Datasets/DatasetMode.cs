namespace Distill.Pose.Datasets;

public enum DatasetMode
{
    /// <summary>Instances usable as training targets only.</summary>
    Train,

    /// <summary>Same instances, plus every ground-truth annotation (crowd and keypoint-less ones too) for metrics.</summary>
    Evaluation,
}
