using System.Text;

namespace Distill.Pose.Models.Checkpoints;

/// <summary>What <see cref="PretrainedLoader.LoadBackbone"/> loaded and, by name, everything it did not.</summary>
public sealed record PretrainedLoadReport
{
    /// <summary>The checkpoint file.</summary>
    public required string Path { get; init; }

    public required CheckpointLayout Layout { get; init; }

    /// <summary>Model keys that received a checkpoint tensor.</summary>
    public required IReadOnlyList<string> LoadedKeys { get; init; }

    /// <summary>
    /// Model keys left as they were: backbone keys the checkpoint lacks, and every key outside the backbone
    /// (a whole pose model's head.* keys are always listed here).
    /// </summary>
    public required IReadOnlyList<string> MissingKeys { get; init; }

    /// <summary>Checkpoint backbone keys (after renaming) that the model does not have.</summary>
    public required IReadOnlyList<string> UnexpectedKeys { get; init; }

    /// <summary>Keys present on both sides whose shapes differ; nothing was copied for them.</summary>
    public required IReadOnlyList<(string Key, long[] Expected, long[] Actual)> ShapeMismatches { get; init; }

    /// <summary>
    /// Checkpoint keys deliberately left out: keys outside the backbone after renaming (a head, for example) and keys
    /// with no counterpart in the model (a pooler, a classifier, a cls token), under their names in the file.
    /// </summary>
    public required IReadOnlyList<string> IgnoredKeys { get; init; }

    /// <summary>Conversions applied on the way (fused projections, position-embedding changes, norm differences).</summary>
    public required IReadOnlyList<string> Notes { get; init; }

    /// <summary>The backbone part of <see cref="MissingKeys"/>: what a complete backbone load would have filled.</summary>
    public IReadOnlyList<string> MissingBackboneKeys => MissingKeys.Where(k => k.StartsWith(BackbonePrefix, StringComparison.Ordinal)).ToList();

    /// <summary>True when every backbone parameter and buffer was loaded and every checkpoint backbone key was used.</summary>
    public bool BackboneComplete => MissingBackboneKeys.Count == 0 && UnexpectedKeys.Count == 0 && ShapeMismatches.Count == 0;

    /// <summary>"backbone." for a whole pose model, "" when the model is the backbone itself.</summary>
    public required string BackbonePrefix { get; init; }

    /// <summary>A printable summary: one section per kind of key that did not load, each key on its own line.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.AppendLine($"Backbone weights from {Path} (layout {Layout}): {LoadedKeys.Count} tensors loaded" +
            (BackboneComplete ? ", backbone complete" : ", backbone INCOMPLETE"));
        var missingBackbone = MissingBackboneKeys;
        var others = MissingKeys.Except(missingBackbone).ToList();
        List("backbone keys missing from the checkpoint (left as initialised)", missingBackbone, sb);
        List("unexpected checkpoint backbone keys (not in the model)", UnexpectedKeys, sb);
        List("shape mismatches (not loaded)", ShapeMismatches.Select(m =>
            $"{m.Key}: model [{string.Join(", ", m.Expected)}], checkpoint [{string.Join(", ", m.Actual)}]").ToList(), sb);
        List("model keys outside the backbone (not loaded)", others, sb);
        List("checkpoint keys ignored (outside the backbone or without counterpart)", IgnoredKeys, sb);
        List("notes", Notes, sb);
        return sb.ToString().TrimEnd();
    }

    /// <summary>Lines printed per section; the properties hold the full lists.</summary>
    public const int MaxListed = 40;

    private static void List(string title, IReadOnlyList<string> items, StringBuilder sb)
    {
        if (items.Count == 0) return;
        sb.AppendLine($"  {title} ({items.Count}):");
        foreach (var i in items.Take(MaxListed)) sb.AppendLine("    " + i);
        if (items.Count > MaxListed) sb.AppendLine($"    ... and {items.Count - MaxListed} more");
    }
}
