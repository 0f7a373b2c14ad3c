using System.ComponentModel.DataAnnotations;
using Distill.Training.Config;
using Distill.Config;

namespace Distill.Training.Tests.Config;

public enum SampleMode
{
    [ConfigName("fast")]
    Fast,
    VerySlow,
}

/// <summary>An options class covering every kind of property the binder supports.</summary>
public sealed class SampleOptions : IValidatable
{
    [Required]
    public string Name { get; set; } = "";

    public string? Comment { get; set; } = "default";

    public bool Flag { get; set; }

    [Range(1, 100)]
    public int Count { get; set; } = 1;

    public long Big { get; set; }

    public float Small { get; set; }

    [Range(0.0, 1.0)]
    public double Ratio { get; set; } = 0.5;

    [Range(0.0, double.MaxValue, MinimumIsExclusive = true)]
    [AllowInfinity]
    public double Positive { get; set; } = 1;

    public int? MaybeCount { get; set; } = 7;

    public SampleMode Mode { get; set; }

    public SampleMode? MaybeMode { get; set; }

    [Range(1, 8192)]
    [Length(2, 2)]
    public int[] Size { get; set; } = [192, 256];

    public List<string> Tags { get; set; } = [];

    public IReadOnlyList<double> Weights { get; set; } = [];

    public Dictionary<string, double> Scores { get; set; } = [];

    public SampleChild Child { get; set; } = new() { Width = 5 };

    public SampleChild? OptionalChild { get; set; }

    public List<SampleChild> Children { get; set; } = [];

    /// <summary>Computed, not settable: never a configuration key.</summary>
    public int Area => Size[0] * Size[1];

    public IEnumerable<ValidationMessage> Validate()
    {
        if (Name == "forbidden")
            yield return ValidationMessage.For("name", "this name is reserved");
        if (Flag && Count > 10)
            yield return "flag allows at most 10 items";
    }
}

public sealed class SampleChild : IValidatable
{
    public int Width { get; set; } = 4;

    public int Depth { get; set; } = 2;

    public string Label { get; set; } = "child";

    public IEnumerable<ValidationMessage> Validate()
    {
        if (Depth > Width)
            yield return ValidationMessage.For("depth", $"depth {Depth} exceeds width {Width}");
    }
}
