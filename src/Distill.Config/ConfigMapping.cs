using System.Diagnostics.CodeAnalysis;

namespace Distill.Config;

/// <summary>One key of a mapping, with where the key itself was written (unknown-key errors point there).</summary>
public sealed record ConfigEntry(string Key, ConfigLocation KeyLocation, ConfigNode Value);

/// <summary>A YAML mapping whose entries keep the order they were written in, so output is deterministic.</summary>
public sealed class ConfigMapping : ConfigNode
{
    private readonly ConfigEntry[] _entries;

    public ConfigMapping(IEnumerable<ConfigEntry> entries, ConfigLocation location)
        : base(location)
    {
        _entries = entries.ToArray();
    }

    public IReadOnlyList<ConfigEntry> Entries => _entries;

    public int Count => _entries.Length;

    public IEnumerable<string> Keys => _entries.Select(e => e.Key);

    /// <summary>The value under <paramref name="key"/>, or null when the key is absent.</summary>
    public ConfigNode? this[string key] => Find(key)?.Value;

    public bool ContainsKey(string key) => Find(key) is not null;

    public bool TryGetValue(string key, [NotNullWhen(true)] out ConfigNode? value)
    {
        value = Find(key)?.Value;
        return value is not null;
    }

    public ConfigEntry? Find(string key)
    {
        foreach (var e in _entries)
        {
            if (e.Key == key)
                return e;
        }
        return null;
    }

    /// <summary>A copy with <paramref name="key"/> set: replaced in place if present, appended otherwise.</summary>
    public ConfigMapping With(string key, ConfigLocation keyLocation, ConfigNode value)
    {
        var entries = _entries.ToList();
        var index = entries.FindIndex(e => e.Key == key);
        if (index >= 0)
            entries[index] = new ConfigEntry(key, keyLocation, value);
        else
            entries.Add(new ConfigEntry(key, keyLocation, value));
        return new ConfigMapping(entries, Location);
    }

    public ConfigMapping Without(string key) => new(_entries.Where(e => e.Key != key), Location);

    public override string Describe() => "a mapping";

    internal override ConfigNode Relocate(ConfigLocation location) =>
        new ConfigMapping(_entries.Select(e => new ConfigEntry(e.Key, location, e.Value.Relocate(location))), location);
}
