using System.Text;

namespace Distill.Pose.Models.Checkpoints;

/// <summary>
/// What <see cref="WeightsLoader.LoadInto"/> did with a checkpoint: the layout its keys were read as and, for a layout
/// other than mmpose's, which stored keys were renamed to which model keys and what else was converted.
/// </summary>
public sealed record WeightsLoadReport
{
    public required string Path { get; init; }

    public required CheckpointLayout Layout { get; init; }

    /// <summary>Tensors loaded into the model: every parameter and buffer but <see cref="LeftInitialised"/> (loading is strict).</summary>
    public required int Loaded { get; init; }

    /// <summary>Module prefixes the file records as left out because the model's forward never uses them.</summary>
    public IReadOnlyList<string> Omitted { get; init; } = [];

    /// <summary>The model's keys under <see cref="Omitted"/> that the file lacks: they keep their initial values.</summary>
    public IReadOnlyList<string> LeftInitialised { get; init; } = [];

    /// <summary>(stored key, model key) for every key whose name changed, in the checkpoint's order.</summary>
    public required IReadOnlyList<(string From, string To)> Renamed { get; init; }

    /// <summary>Conversions beyond renaming (the position embedding's cls slot, grid fitting).</summary>
    public required IReadOnlyList<string> Notes { get; init; }

    /// <summary>True when the checkpoint needed a key map (it was not in mmpose's own layout).</summary>
    public bool Mapped => Layout != CheckpointLayout.Mmpose;

    /// <summary>Renamings listed in <see cref="ToString"/>; the property holds them all.</summary>
    public const int MaxListed = 8;

    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append($"{Path}: {Loaded} tensors loaded");
        if (LeftInitialised.Count > 0)
            sb.Append($", {LeftInitialised.Count} left as initialised under {string.Join(", ", Omitted)} (unused by the model, left out of the file)");
        if (!Mapped) return sb.Append(" (mmpose layout)").ToString();
        sb.AppendLine($", read as the {Layout} layout and mapped to mmpose names ({Renamed.Count} renamed):");
        foreach (var (from, to) in Renamed.Take(MaxListed)) sb.AppendLine($"    {from} -> {to}");
        if (Renamed.Count > MaxListed) sb.AppendLine($"    ... and {Renamed.Count - MaxListed} more");
        foreach (var n in Notes) sb.AppendLine($"  note: {n}");
        return sb.ToString().TrimEnd();
    }
}
