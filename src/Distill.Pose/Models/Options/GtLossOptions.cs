using System.ComponentModel.DataAnnotations;

namespace Distill.Pose.Models.Options;

public enum GtLossType
{
    KLDiscretLoss,
    KeypointMSELoss,
    RegressionMSE,

    /// <summary>Smooth L1 on normalised coordinates (RegressionHead).</summary>
    SmoothL1Loss,

    /// <summary>mmpose's residual log-likelihood estimation loss with its RealNVP flow (RegressionHead, with sigmas).</summary>
    RLELoss,
}

/// <summary>The supervised loss against annotations.</summary>
public sealed class GtLossOptions
{
    /// <summary>The head's loss; null takes the one its head computes (RTMCCHead: KL, HeatmapHead: MSE, RegressionHead: MSE on coordinates).</summary>
    public GtLossType? Type { get; set; }

    [Range(0.0, double.MaxValue)]
    public double Weight { get; set; } = 1.0;

    /// <summary>Logit scale inside the KL loss's softmax.</summary>
    [Range(0.0, double.MaxValue, MinimumIsExclusive = true)]
    public double Beta { get; set; } = 10.0;

    /// <summary>Apply the softmax to SimCC labels too (label_softmax in mmpose).</summary>
    public bool LabelSoftmax { get; set; } = true;

    /// <summary>Weight each keypoint's term by its target weight (0 for unlabelled keypoints).</summary>
    public bool UseTargetWeight { get; set; } = true;
}
