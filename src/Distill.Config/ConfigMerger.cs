namespace Distill.Config;

/// <summary>
/// Deep merge of configuration trees, the rule shared by <c>_base_</c> files and <c>--set</c> overrides: mappings
/// merge key by key (base order first, new keys after), anything else in the overlay replaces the base, lists
/// included. A mapping holding <c>_delete_: true</c> replaces its base mapping instead of merging into it, for
/// switching a section to a type whose keys differ.
/// </summary>
public static class ConfigMerger
{
    public const string DeleteKey = "_delete_";

    /// <summary>
    /// The overlay on top of the base (null: no base). The result never holds <c>_delete_</c> keys, so merging
    /// an already-merged tree again is harmless.
    /// </summary>
    public static ConfigNode Merge(ConfigNode? baseNode, ConfigNode overlay, string path, List<ConfigError> errors)
    {
        switch (overlay)
        {
            case ConfigMapping mapping:
            {
                var replace = TakeDeleteFlag(mapping, path, errors, out var own);
                if (!replace && baseNode is ConfigMapping baseMapping)
                    return MergeMappings(baseMapping, own, path, errors);
                return new ConfigMapping(
                    own.Entries.Select(e => e with { Value = Merge(null, e.Value, YamlReader.Join(path, e.Key), errors) }),
                    own.Location);
            }
            case ConfigSequence sequence:
                return new ConfigSequence(
                    sequence.Items.Select((item, i) => Merge(null, item, YamlReader.Join(path, i.ToString(System.Globalization.CultureInfo.InvariantCulture)), errors)),
                    sequence.IsFlow, sequence.Location);
            default:
                return overlay;
        }
    }

    private static ConfigMapping MergeMappings(ConfigMapping baseMapping, ConfigMapping overlay, string path, List<ConfigError> errors)
    {
        var entries = new List<ConfigEntry>(baseMapping.Count + overlay.Count);
        foreach (var b in baseMapping.Entries)
        {
            var o = overlay.Find(b.Key);
            entries.Add(o is null ? b : new ConfigEntry(b.Key, o.KeyLocation, Merge(b.Value, o.Value, YamlReader.Join(path, b.Key), errors)));
        }
        foreach (var o in overlay.Entries)
        {
            if (!baseMapping.ContainsKey(o.Key))
                entries.Add(o with { Value = Merge(null, o.Value, YamlReader.Join(path, o.Key), errors) });
        }
        return new ConfigMapping(entries, overlay.Location);
    }

    private static bool TakeDeleteFlag(ConfigMapping mapping, string path, List<ConfigError> errors, out ConfigMapping rest)
    {
        var flag = mapping.Find(DeleteKey);
        rest = mapping;
        if (flag is null)
            return false;
        rest = mapping.Without(DeleteKey);
        if (flag.Value is ConfigScalar scalar && YamlScalars.TryBool(scalar, out var value))
            return value;
        errors.Add(new ConfigError(flag.Value.Location, YamlReader.Join(path, DeleteKey),
            $"expected true or false, got {flag.Value.Describe()}"));
        return false;
    }
}
