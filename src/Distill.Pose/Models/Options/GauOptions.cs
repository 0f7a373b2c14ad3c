using System.ComponentModel.DataAnnotations;

namespace Distill.Pose.Models.Options;

public enum GauActivation
{
    SiLU,
    ReLU,
}

/// <summary>The gated attention unit of an RTMCCHead (RTMPose defaults).</summary>
public sealed class GauOptions
{
    /// <summary>Width of the token features the GAU works on.</summary>
    [Range(1, 65536)]
    public int HiddenDims { get; set; } = 256;

    /// <summary>Width of the shared query/key base.</summary>
    [Range(1, 65536)]
    public int S { get; set; } = 128;

    /// <summary>The gated width e is expansion_factor x hidden_dims.</summary>
    [Range(1, 64)]
    public int ExpansionFactor { get; set; } = 2;

    [Range(0.0, 1.0)]
    public double DropoutRate { get; set; }

    [Range(0.0, 1.0)]
    public double DropPath { get; set; }

    public GauActivation ActFn { get; set; } = GauActivation.SiLU;

    public bool UseRelBias { get; set; }

    public bool PosEnc { get; set; }
}
