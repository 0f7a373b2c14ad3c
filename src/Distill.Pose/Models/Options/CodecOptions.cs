using System.ComponentModel.DataAnnotations;

namespace Distill.Pose.Models.Options;

public enum CodecType
{
    SimCCLabel,
    MSRAHeatmap,
    UDPHeatmap,
    RegressionLabel,
}

/// <summary>How keypoints become training targets and predictions become keypoints.</summary>
public sealed class CodecOptions
{
    public CodecType Type { get; set; } = CodecType.SimCCLabel;

    /// <summary>[width, height]; null means the model's input_size (and if given it must equal it).</summary>
    [Length(2, 2)]
    [Range(1, 8192)]
    public int[]? InputSize { get; set; }

    /// <summary>
    /// Gaussian sigma, one value for both axes or [x, y]; in bins for SimCC, heatmap pixels otherwise. Null means the
    /// usual value: [4.9, 5.66] for SimCCLabel at 256x192, 2 for heatmaps.
    /// </summary>
    [Length(1, 2)]
    [Range(0.0, 1000.0, MinimumIsExclusive = true)]
    public List<double>? Sigma { get; set; }

    /// <summary>SimCC bins per input pixel.</summary>
    [Range(0.0, 100.0, MinimumIsExclusive = true)]
    public double SimccSplitRatio { get; set; } = 2.0;

    /// <summary>Normalise SimCC labels to sum to one instead of peaking at one.</summary>
    public bool Normalize { get; set; }

    /// <summary>DARK sub-pixel refinement when decoding heatmaps.</summary>
    public bool UseDark { get; set; }

    /// <summary>[width, height] of heatmaps; null means a quarter of the input size.</summary>
    [Length(2, 2)]
    [Range(1, 8192)]
    public int[]? HeatmapSize { get; set; }
}
