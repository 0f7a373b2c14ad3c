namespace Distill.Pose.Models.Options;

/// <summary>Inference-time behaviour of the model (mmpose's test_cfg).</summary>
public sealed class TestCfgOptions
{
    /// <summary>Average the prediction with that of the mirrored crop.</summary>
    public bool FlipTest { get; set; } = true;

    /// <summary>Shift flipped heatmaps one pixel to undo the flip's misalignment (classic MSRA heatmaps).</summary>
    public bool ShiftHeatmap { get; set; }
}
