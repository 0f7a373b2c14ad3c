namespace Distill.Config;

/// <summary>
/// Reads a file and everything it inherits through <c>_base_</c>: bases are resolved depth first, merged in the
/// order listed, and the file itself goes on top. Base paths are relative to the file that names them.
/// A file may be reached twice through different branches (a diamond); only a file that inherits from itself,
/// directly or not, is an error.
/// </summary>
internal sealed class BaseResolver
{
    public const string BaseKey = "_base_";

    private readonly List<ConfigError> _errors;
    private readonly bool _relativeDisplay;
    private readonly Dictionary<string, ConfigMapping?> _parsed = new(StringComparer.Ordinal);

    public BaseResolver(List<ConfigError> errors, bool relativeDisplay)
    {
        _errors = errors;
        _relativeDisplay = relativeDisplay;
    }

    /// <summary>True once a file could not be read or a base could not be followed: the tree is incomplete.</summary>
    public bool Incomplete { get; private set; }

    public ConfigMapping? Resolve(string fullPath) => Resolve(fullPath, [fullPath]);

    public string Display(string fullPath) =>
        _relativeDisplay ? Path.GetRelativePath(Environment.CurrentDirectory, fullPath) : fullPath;

    private ConfigMapping? Resolve(string fullPath, List<string> chain)
    {
        var tree = Parse(fullPath);
        if (tree is null)
            return null;
        var baseEntry = tree.Find(BaseKey);
        if (baseEntry is null)
            return (ConfigMapping)ConfigMerger.Merge(null, tree, "", _errors);

        ConfigNode? merged = null;
        foreach (var reference in BaseReferences(baseEntry))
        {
            var basePath = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(fullPath)!, reference.Value));
            var cycleStart = chain.IndexOf(basePath);
            if (cycleStart >= 0)
            {
                var cycle = chain.Skip(cycleStart).Append(basePath).Select(Display);
                Fail(reference.Location, "cyclic _base_ inheritance: " + string.Join(" -> ", cycle));
                continue;
            }
            if (!File.Exists(basePath))
            {
                Fail(reference.Location, "base file not found: " + Display(basePath));
                continue;
            }
            chain.Add(basePath);
            var resolvedBase = Resolve(basePath, chain);
            chain.RemoveAt(chain.Count - 1);
            if (resolvedBase is not null)
                merged = merged is null ? resolvedBase : ConfigMerger.Merge(merged, resolvedBase, "", _errors);
        }
        return (ConfigMapping)ConfigMerger.Merge(merged, tree.Without(BaseKey), "", _errors);
    }

    private IEnumerable<ConfigScalar> BaseReferences(ConfigEntry entry)
    {
        var items = entry.Value is ConfigSequence sequence ? sequence.Items : [entry.Value];
        foreach (var item in items)
        {
            if (item is ConfigScalar { IsNull: false } scalar && scalar.Value.Length > 0)
                yield return scalar;
            else
                Fail(item.Location, $"expected a file name or a list of file names, got {item.Describe()}");
        }
    }

    private ConfigMapping? Parse(string fullPath)
    {
        if (_parsed.TryGetValue(fullPath, out var cached))
            return cached;
        ConfigMapping? tree;
        try
        {
            using var reader = File.OpenText(fullPath);
            tree = YamlReader.ReadMapping(reader, Display(fullPath), _errors);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _errors.Add(new ConfigError(ConfigLocation.InFile(Display(fullPath), 1, 1), "", "cannot read the file: " + ex.Message));
            tree = null;
        }
        if (tree is null)
            Incomplete = true;
        _parsed[fullPath] = tree;
        return tree;
    }

    private void Fail(ConfigLocation location, string message)
    {
        _errors.Add(new ConfigError(location, BaseKey, message));
        Incomplete = true;
    }
}
