using System.ComponentModel.DataAnnotations;
using Distill.Config;
using Distill.Training.Teachers;

namespace Distill.Training.Config.Schema;

/// <summary>The teacher registry file (teachers/manifest.yaml): the teachers experiments may name.</summary>
public sealed class TeacherManifestOptions : IValidatable
{
    [Required]
    public List<TeacherEntryOptions> Teachers { get; set; } = [];

    public IEnumerable<ValidationMessage> Validate()
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < Teachers.Count; i++)
        {
            if (!names.Add(Teachers[i].Name))
                yield return ValidationMessage.For($"teachers.{i}.name", $"'{Teachers[i].Name}' is registered twice");
        }
    }
}

/// <summary>
/// One registered teacher. Relative paths are taken from the working directory, as in experiment configs; a
/// checkpoint given as an http(s) URL is read from cache/ beside the manifest, under the URL's file name.
/// </summary>
public sealed class TeacherEntryOptions : IValidatable
{
    [Required]
    public string Name { get; set; } = "";

    /// <summary>Model configuration file of the teacher (only its model section is read).</summary>
    [Required]
    public string Config { get; set; } = "";

    /// <summary>Weights: a file path, or the URL they are published at.</summary>
    [Required]
    public string Checkpoint { get; set; } = "";

    /// <summary>Expected SHA-256 of the checkpoint (full digest or a prefix of at least 8 hex digits).</summary>
    public string? Sha256 { get; set; }

    /// <summary>The keypoint set the teacher predicts; must be its config's.</summary>
    [Required]
    public string KeypointSet { get; set; } = "";

    /// <summary>The teacher's input [width, height]; must be its config's.</summary>
    [Required]
    [Length(2, 2)]
    [Range(1, 8192)]
    public int[] InputSize { get; set; } = [];

    public IEnumerable<ValidationMessage> Validate()
    {
        if (Sha256 is not null && !Sha256Digest.IsValid(Sha256))
            yield return ValidationMessage.For("sha256", $"expected {Sha256Digest.Expected}, got '{Sha256}'");
    }
}
