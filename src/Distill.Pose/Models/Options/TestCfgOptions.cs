namespace Distill.Pose.Models.Options;

/// <summary>How `distill predict` turns a box into a crop and heatmaps back into image keypoints.</summary>
public enum TopdownInference
{
    /// <summary>mmpose 1.x: box size in pixels, the codec's own decode (UDP, MSRA, SimCC, regression).</summary>
    Mmpose,

    /// <summary>
    /// mmpose 0.x, as the original ViTPose demo: scale in units of 200 px, argmax plus a quarter-pixel shift, back
    /// through center and scale (<see cref="Transforms.ClassicTopdown"/>). Heatmap heads only.
    /// </summary>
    Classic,
}

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

    /// <summary>The inference path `distill predict` runs (eval and training validation always run mmpose's).</summary>
    public TopdownInference Inference { get; set; } = TopdownInference.Mmpose;
}
