using System.ComponentModel.DataAnnotations;
using Distill.Config;
using Distill.Training.Teachers;

namespace Distill.Training.Config.Schema;

/// <summary>The engine that runs a frozen teacher's forward pass.</summary>
public enum TeacherRuntime
{
    /// <summary>The teacher network itself, in libtorch.</summary>
    [ConfigName("libtorch")]
    Libtorch,

    /// <summary>An in-memory ONNX export of the frozen teacher (BN folded) in ONNX Runtime, on the CPU.</summary>
    [ConfigName("onnxruntime")]
    OnnxRuntime,

    /// <summary>ONNX Runtime on the CPU, where it measures faster; libtorch on CUDA and where ONNX Runtime cannot serve.</summary>
    [ConfigName("auto")]
    Auto,
}

/// <summary>
/// A frozen teacher network. Its architecture comes from <see cref="Config"/> (a model configuration file) or from
/// the registry entry <see cref="Name"/>; its weights from <see cref="Checkpoint"/>.
/// </summary>
public sealed class TeacherOptions : IValidatable
{
    /// <summary>The one name a configured teacher cannot have.</summary>
    public const string ReservedName = "self_teacher";

    /// <summary>Registry name, also the teacher's name in logs and checkpoints.</summary>
    [Required]
    public string Name { get; set; } = "";

    /// <summary>Model configuration file describing the teacher (only its model section is read).</summary>
    public string? Config { get; set; }

    public string? Checkpoint { get; set; }

    /// <summary>Expected SHA-256 of the checkpoint file (full digest or a prefix of at least 8 hex digits), checked before loading.</summary>
    public string? Sha256 { get; set; }

    /// <summary>Scales every distillation term of this teacher.</summary>
    [Range(0.0, double.MaxValue)]
    public double Weight { get; set; } = 1.0;

    /// <summary>The teacher's keypoint set; null means the one in its model configuration.</summary>
    public string? KeypointSet { get; set; }

    /// <summary>The teacher's input [width, height]; null means the one in its model configuration.</summary>
    [Length(2, 2)]
    [Range(1, 8192)]
    public int[]? InputSize { get; set; }

    [Range(0.0, double.MaxValue)]
    public double LogitWeight { get; set; } = 1.0;

    [Range(0.0, double.MaxValue)]
    public double FeatureWeight { get; set; }

    /// <summary>
    /// The data sources (data.sources names) whose images this teacher speaks for: its distillation terms count only
    /// on samples from these, averaged over them. Null (the default) means every source.
    /// </summary>
    public List<string>? Sources { get; set; }

    /// <summary>Fold BatchNorm into the preceding convolutions: the teacher never trains, so this is free speed.</summary>
    public bool FoldBn { get; set; } = true;

    /// <summary>
    /// Keep a convolutional teacher's weights and inputs channels-last (NHWC), where libtorch's CPU convolutions are
    /// faster; ignored for teachers without ConvModules (ViT).
    /// </summary>
    public bool ChannelsLast { get; set; } = true;

    /// <summary>
    /// What runs the teacher's forward: libtorch (the default), onnxruntime, or auto. ONNX Runtime gives the same
    /// targets up to rounding (within 1e-4), not bit-identical ones.
    /// </summary>
    public TeacherRuntime Runtime { get; set; } = TeacherRuntime.Libtorch;

    /// <summary>A copy of these options (every key, the weight included), for running the same teacher another way.</summary>
    public TeacherOptions Clone()
    {
        var copy = (TeacherOptions)MemberwiseClone();
        copy.Sources = Sources?.ToList();
        return copy;
    }

    public IEnumerable<ValidationMessage> Validate()
    {
        if (Sha256 is not null && !Sha256Digest.IsValid(Sha256))
            yield return ValidationMessage.For("sha256", $"expected {Sha256Digest.Expected}, got '{Sha256}'");
        // Checkpoints keep every teacher's modules under kd.NAME.; this name belongs to train.self_distill's self-teacher.
        if (Name == ReservedName)
            yield return ValidationMessage.For("name", $"'{ReservedName}' is reserved for the self-teacher of train.self_distill; pick another name");
        if (Sources is { Count: 0 })
            yield return ValidationMessage.For("sources", "an empty list selects no image, so the teacher would never speak; leave the key out for every source");
    }
}
