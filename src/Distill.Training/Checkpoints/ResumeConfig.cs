using Distill.Config;
using Distill.Training.Engine;

namespace Distill.Training.Checkpoints;

/// <summary>One key whose value differs between a checkpoint's config and the config a run resumes it with.</summary>
public sealed record ConfigChange(string Key, string? Before, string? After)
{
    public override string ToString() => $"{Key}: {Before ?? "(unset)"} -> {After ?? "(unset)"}";
}

/// <summary>
/// What may change when a run is resumed: keys that only steer how long it goes on, how it is logged, checkpointed and
/// run (learning rate, epochs, intervals, logging, threads, layout) are taken over; any other change would make the
/// resumed run something other than the one its checkpoint belongs to, and is refused by name.
/// </summary>
public static class ResumeConfig
{
    private static readonly string[] Changeable =
    [
        "optimizer.lr", "train.max_epochs", "train.val_interval", "train.log_interval", "logging.", "checkpoint.", "name", "work_dir",
        "threads", "data.num_workers", "data.prefetch", "data.val_batch_size", "model.channels_last",
    ];

    /// <summary>Every key whose value differs (lists compared item by item), in key order.</summary>
    public static List<ConfigChange> Diff(ConfigMapping before, ConfigMapping after)
    {
        var a = Flatten(before);
        var b = Flatten(after);
        return a.Keys.Union(b.Keys).Order(StringComparer.Ordinal)
            .Select(k => new ConfigChange(k, a.GetValueOrDefault(k), b.GetValueOrDefault(k)))
            .Where(c => c.Before != c.After && !SameNumber(c.Before, c.After)).ToList();
    }

    // 1e-3 and 0.001 are the same learning rate.
    private static bool SameNumber(string? a, string? b) =>
        double.TryParse(a, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var x) &&
        double.TryParse(b, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var y) && x == y;

    public static bool IsChangeable(string key) =>
        Changeable.Any(c => c.EndsWith('.') ? key.StartsWith(c, StringComparison.Ordinal) : key == c) ||
        // A teacher's layout is as free as the student's, and so is its engine: checkpoints hold neither.
        (key.StartsWith("teachers.", StringComparison.Ordinal)
            && (key.EndsWith(".channels_last", StringComparison.Ordinal) || key.EndsWith(".runtime", StringComparison.Ordinal)));

    /// <summary>
    /// The changes between the checkpoint's config (<paramref name="checkpointYaml"/>) and the current one; throws a
    /// <see cref="TrainingException"/> naming every change that cannot be taken over.
    /// </summary>
    public static List<ConfigChange> Check(string checkpointYaml, ConfigMapping current, string checkpointPath)
    {
        var changes = Diff(ConfigLoader.Parse(checkpointYaml, checkpointPath + " (config)"), current);
        var refused = changes.Where(c => !IsChangeable(c.Key)).ToList();
        if (refused.Count > 0)
            throw new TrainingException($"--resume: the config differs from the one {checkpointPath} was trained with in keys that cannot " +
                $"change in the middle of a run:{Environment.NewLine}  {string.Join(Environment.NewLine + "  ", refused)}{Environment.NewLine}" +
                "Resume with the original values (learning rate, epochs, intervals, logging and checkpoint settings may change), " +
                "or start a new run initialised from the checkpoint (model.init_checkpoint).");
        return changes;
    }

    private static Dictionary<string, string> Flatten(ConfigNode root)
    {
        var flat = new Dictionary<string, string>(StringComparer.Ordinal);
        void Walk(ConfigNode node, string path)
        {
            switch (node)
            {
                case ConfigMapping m:
                    foreach (var e in m.Entries) Walk(e.Value, path.Length == 0 ? e.Key : path + "." + e.Key);
                    break;
                case ConfigSequence s:
                    flat[path + ".length"] = s.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    for (int i = 0; i < s.Count; i++) Walk(s[i], path + "." + i.ToString(System.Globalization.CultureInfo.InvariantCulture));
                    break;
                case ConfigScalar c:
                    flat[path] = c.IsNull ? "null" : c.Value;
                    break;
            }
        }
        Walk(root, "");
        return flat;
    }
}
