namespace Distill.Pose.Codecs;

/// <summary>How SimCC spreads a keypoint over its bins (mmpose's <c>smoothing_type</c>).</summary>
public enum SimCCSmoothing
{
    /// <summary>A Gaussian around the keypoint's bin (<c>'gaussian'</c>, what RTMPose uses).</summary>
    Gaussian,

    /// <summary>A one-hot bin, optionally with uniform label smoothing (<c>'standard'</c>).</summary>
    Standard,
}
