using Distill.Config;
using Distill.Training.Config.Schema;

namespace Distill.Training.Teachers;

/// <summary>One registered teacher, with where its entry is written (file:line:column) for messages.</summary>
public sealed record TeacherEntry(string Name, string Config, string Checkpoint, string? Sha256, string KeypointSet, int[] InputSize, string Source);

/// <summary>
/// The teacher registry (by default <c>teachers/manifest.yaml</c>): experiments name teachers, the registry says where
/// their config and weights are. It binds through the same strict binder as every configuration, so unknown keys, wrong
/// types and missing keys are reported with file:line:column. Relative paths in it are taken from the working
/// directory, like those of experiment configs; checkpoints given as URLs are looked up in <c>cache/</c> beside the
/// manifest by file name, since Distill never downloads anything itself.
/// </summary>
public sealed class TeacherRegistry
{
    public const string ManifestName = "manifest.yaml";

    /// <summary>Where experiments find the registry unless they set teachers_manifest (relative to the working directory).</summary>
    public const string DefaultManifest = "teachers/" + ManifestName;

    private readonly Dictionary<string, TeacherEntry> _entries;

    /// <summary>The manifest file, as an absolute path.</summary>
    public string ManifestPath { get; }

    /// <summary>Where checkpoints published as URLs are expected: cache/ beside the manifest.</summary>
    public string CacheDirectory => Path.Combine(Path.GetDirectoryName(ManifestPath)!, "cache");

    public IReadOnlyCollection<TeacherEntry> Entries => _entries.Values;

    private TeacherRegistry(string manifestPath, Dictionary<string, TeacherEntry> entries)
    {
        ManifestPath = manifestPath;
        _entries = entries;
    }

    /// <summary>Reads and binds a manifest file; every problem in it is thrown together as a <see cref="ConfigException"/>.</summary>
    public static TeacherRegistry Read(string manifestPath)
    {
        var full = Path.GetFullPath(manifestPath);
        if (!File.Exists(full)) throw new FileNotFoundException($"teacher manifest not found: {full}", full);
        var tree = ConfigLoader.Load(manifestPath);
        var errors = new List<ConfigError>();
        var manifest = ConfigBinder.Bind<TeacherManifestOptions>(tree, "", errors);
        ConfigLoader.ThrowIfAny(errors);
        var items = tree["teachers"] as ConfigSequence;
        var entries = new Dictionary<string, TeacherEntry>(StringComparer.Ordinal);
        for (var i = 0; i < manifest.Teachers.Count; i++)
        {
            var t = manifest.Teachers[i];
            var where = items is not null && i < items.Count ? items[i].Location.ToString() : full;
            entries.Add(t.Name, new TeacherEntry(t.Name, t.Config, t.Checkpoint, t.Sha256, t.KeypointSet, t.InputSize, where));
        }
        return new TeacherRegistry(full, entries);
    }

    public TeacherEntry Get(string name) =>
        _entries.TryGetValue(name, out var e) ? e
        : throw new KeyNotFoundException($"teacher '{name}' is not in {ManifestPath}" +
            (Suggestions.Closest(name, _entries.Keys) is { } s ? $" (did you mean '{s}'?)" : "") +
            (_entries.Count == 0 ? "" : $"; registered: {string.Join(", ", _entries.Keys)}"));

    /// <summary>The entry's model config (relative paths from the working directory).</summary>
    public string ResolveConfig(TeacherEntry e) => Path.GetFullPath(e.Config);

    /// <summary>The entry's checkpoint: a path (relative ones from the working directory), or a URL's file in <see cref="CacheDirectory"/>.</summary>
    public string ResolveCheckpoint(TeacherEntry e)
    {
        if (Uri.TryCreate(e.Checkpoint, UriKind.Absolute, out var uri) && (uri.Scheme == "http" || uri.Scheme == "https"))
        {
            var cached = Path.Combine(CacheDirectory, Path.GetFileName(uri.LocalPath));
            if (!File.Exists(cached))
                throw new FileNotFoundException(
                    $"teacher '{e.Name}': download {e.Checkpoint} to {cached} (Distill does not download weights itself)", cached);
            return cached;
        }
        return Path.GetFullPath(e.Checkpoint);
    }
}
