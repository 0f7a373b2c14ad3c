using System.Globalization;

namespace Distill.Config;

/// <summary>
/// One <c>--set path.to.key=value</c> override. The value is read as YAML, so <c>0.001</c> is a number,
/// <c>[coco, mpii]</c> a list and <c>{lr: 1}</c> a mapping (merged into the mapping it lands on); a numeric path
/// segment indexes a list (<c>teachers.0.weight=0.5</c>). Every node of the value is located at the override.
/// </summary>
public sealed class ConfigOverride
{
    private ConfigOverride(string text, string[] path, ConfigNode value)
    {
        Text = text;
        Path = path;
        Value = value;
    }

    public string Text { get; }

    public string[] Path { get; private set; }

    public ConfigNode Value { get; }

    public ConfigLocation Location => ConfigLocation.FromOverride(Text);

    public string Key => string.Join('.', Path);

    /// <summary>Parses <c>key=value</c>; returns null (with the reason in <paramref name="errors"/>) when malformed.</summary>
    public static ConfigOverride? Parse(string text, List<ConfigError> errors)
    {
        var location = ConfigLocation.FromOverride(text);
        var eq = text.IndexOf('=');
        if (eq < 0)
        {
            errors.Add(new ConfigError(location, "", "expected key=value"));
            return null;
        }
        var key = text[..eq].Trim();
        var path = key.Split('.');
        if (key.Length == 0 || path.Any(p => p.Length == 0))
        {
            errors.Add(new ConfigError(location, key, "expected a dotted key such as optimizer.lr before '='"));
            return null;
        }

        var valueErrors = new List<ConfigError>();
        var value = YamlReader.ReadDocument(new StringReader(text[(eq + 1)..]), "--set", valueErrors);
        if (value is null || valueErrors.Count > 0)
        {
            foreach (var e in valueErrors)
                errors.Add(new ConfigError(location, key, "cannot read the value: " + e.Message));
            return null;
        }
        return new ConfigOverride(text, path, value.Relocate(location));
    }

    /// <summary>Moves the override to another key, for sections that have two spellings.</summary>
    public void Reroot(string[] prefixFrom, string[] prefixTo)
    {
        if (Path.Length >= prefixFrom.Length && Path.Take(prefixFrom.Length).SequenceEqual(prefixFrom))
            Path = [.. prefixTo, .. Path.Skip(prefixFrom.Length)];
    }

    public bool StartsWith(string segment) => Path[0] == segment;

    /// <summary>The tree with this override applied, or the tree unchanged when the path cannot be followed.</summary>
    public ConfigMapping ApplyTo(ConfigMapping root, List<ConfigError> errors) =>
        SetAt(root, 0, errors) as ConfigMapping ?? root;

    private ConfigNode? SetAt(ConfigNode? node, int depth, List<ConfigError> errors)
    {
        var here = string.Join('.', Path.Take(depth));
        if (depth == Path.Length)
            return ConfigMerger.Merge(node, Value, here, errors);

        var segment = Path[depth];
        var isIndex = segment.All(char.IsAsciiDigit);
        switch (node)
        {
            case ConfigMapping mapping:
            {
                var entry = mapping.Find(segment);
                var child = SetAt(entry?.Value, depth + 1, errors);
                return child is null ? null : mapping.With(segment, entry?.KeyLocation ?? Location, child);
            }
            case ConfigSequence sequence:
            {
                if (!isIndex || !int.TryParse(segment, NumberStyles.None, CultureInfo.InvariantCulture, out var index))
                {
                    errors.Add(new ConfigError(Location, here, $"is a list; '{segment}' is not an item index"));
                    return null;
                }
                if (index >= sequence.Count)
                {
                    errors.Add(new ConfigError(Location, YamlReader.Join(here, segment),
                        $"index {index} is out of range (the list has {sequence.Count} item{(sequence.Count == 1 ? "" : "s")})"));
                    return null;
                }
                var child = SetAt(sequence[index], depth + 1, errors);
                return child is null ? null : sequence.WithItem(index, child);
            }
            case null:
            case ConfigScalar { IsNull: true }:
                if (isIndex)
                {
                    errors.Add(new ConfigError(Location, here, $"there is no list here to index with {segment}"));
                    return null;
                }
                return SetAt(new ConfigMapping([], Location), depth, errors);
            default:
                errors.Add(new ConfigError(Location, here, $"holds the value {node.Describe()}; cannot set '{segment}' inside it"));
                return null;
        }
    }
}
