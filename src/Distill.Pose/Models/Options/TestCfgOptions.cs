namespace Distill.Pose.Models.Options;

/// <summary>Inference-time behaviour of the model (mmpose's test_cfg).</summary>
public sealed class TestCfgOptions
{
    /// <summary>Average the prediction with that of the mirrored crop.</summary>
    public bool FlipTest { get; set; } = true;

    /// <summary>
    /// Shift the flipped heatmaps one pixel to the right in the flip test, undoing the misalignment of the classic MSRA
    /// grid; null follows the codec (MSRAHeatmap shifts, UDPHeatmap does not). Heatmap codecs only.
    /// </summary>
    public bool? ShiftHeatmap { get; set; }
}
