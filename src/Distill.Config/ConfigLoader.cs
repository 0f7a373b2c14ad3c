namespace Distill.Config;

/// <summary>
/// Entry point of the configuration system: reads a YAML file with its <c>_base_</c> chain and applies
/// <c>--set key=value</c> overrides. Binding the merged tree to a schema is the caller's (see the model and experiment
/// loaders); every problem found is collected and thrown together as one <see cref="ConfigException"/>.
/// </summary>
public static class ConfigLoader
{
    /// <summary>The key naming the file(s) a configuration inherits from.</summary>
    public const string BaseKey = BaseResolver.BaseKey;

    /// <summary>The key that makes a mapping replace its base mapping rather than merge into it.</summary>
    public const string DeleteKey = ConfigMerger.DeleteKey;

    /// <summary>
    /// The merged tree of <paramref name="path"/>: bases, then the file, then the overrides, without binding
    /// it to a schema. Overrides may create keys; whether those keys exist is for the binder to judge.
    /// </summary>
    public static ConfigMapping Load(string path, IEnumerable<string>? overrides = null)
    {
        var errors = new List<ConfigError>();
        var tree = Resolve(path, errors, out _);
        tree = ApplyOverrides(tree, ParseOverrides(overrides, errors), errors);
        ThrowIfAny(errors);
        return tree;
    }

    /// <summary>A YAML text (e.g. the config stored in a checkpoint) as a tree, without bases or overrides; <paramref name="label"/> names it in errors.</summary>
    public static ConfigMapping Parse(string yaml, string label)
    {
        var errors = new List<ConfigError>();
        var tree = YamlReader.ReadMapping(new StringReader(yaml), label, errors);
        ThrowIfAny(errors);
        return tree!;
    }

    /// <summary>The tree as YAML text, keys in the order they appear in the tree.</summary>
    public static string ToYaml(ConfigNode node) => YamlWriter.Write(node);

    /// <summary>
    /// The file with its <c>_base_</c> chain merged in. <paramref name="incomplete"/> tells that a base could not be read,
    /// so binding the tree would only report consequences of that.
    /// </summary>
    public static ConfigMapping Resolve(string path, List<ConfigError> errors, out bool incomplete)
    {
        var fullPath = Path.GetFullPath(path);
        if (!File.Exists(fullPath))
            throw new FileNotFoundException($"configuration file not found: {path}", path);
        var resolver = new BaseResolver(errors, relativeDisplay: !Path.IsPathRooted(path));
        var tree = resolver.Resolve(fullPath);
        incomplete = resolver.Incomplete;
        if (tree is null)
            ThrowIfAny(errors);
        return tree!;
    }

    /// <summary>Parses <c>key=value</c> overrides; <paramref name="reroot"/> moves overrides under one path to another.</summary>
    public static List<ConfigOverride> ParseOverrides(IEnumerable<string>? overrides, List<ConfigError> errors,
        (string[] From, string[] To)? reroot = null)
    {
        var parsed = new List<ConfigOverride>();
        foreach (var text in overrides ?? [])
        {
            var o = ConfigOverride.Parse(text, errors);
            if (o is null)
                continue;
            if (reroot is { } r)
                o.Reroot(r.From, r.To);
            parsed.Add(o);
        }
        return parsed;
    }

    public static ConfigMapping ApplyOverrides(ConfigMapping tree, IEnumerable<ConfigOverride> overrides, List<ConfigError> errors)
    {
        foreach (var o in overrides)
            tree = o.ApplyTo(tree, errors);
        return tree;
    }

    public static void ThrowIfAny(List<ConfigError> errors)
    {
        if (errors.Count > 0)
            throw new ConfigException(errors.Distinct().ToList());
    }
}
