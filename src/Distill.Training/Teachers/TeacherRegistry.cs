using System.Security.Cryptography;
using Distill.Training.Config;
using YamlDotNet.RepresentationModel;
using Distill.Config;

namespace Distill.Training.Teachers;

/// <summary>One registered teacher: its model config, weights, checksum, keypoint set and input size.</summary>
public sealed record TeacherEntry(string Name, string Config, string Checkpoint, string? Sha256, string KeypointSet, int[] InputSize, string Source);

/// <summary>
/// The teacher registry (<c>teachers/manifest.yaml</c>). Experiments name teachers; the registry says where their
/// config and weights are. Checkpoints given as URLs are looked up in <c>teachers/cache/</c> by file name, since
/// Distill never downloads anything itself.
/// </summary>
public sealed class TeacherRegistry
{
    public const string ManifestName = "manifest.yaml";
    private readonly Dictionary<string, TeacherEntry> _entries;

    public string Directory { get; }
    public IReadOnlyCollection<TeacherEntry> Entries => _entries.Values;

    private TeacherRegistry(string directory, Dictionary<string, TeacherEntry> entries)
    {
        Directory = directory;
        _entries = entries;
    }

    /// <summary>Loads <paramref name="directory"/>/manifest.yaml; an absent manifest is an empty registry.</summary>
    public static TeacherRegistry Load(string directory)
    {
        var path = Path.Combine(directory, ManifestName);
        var entries = new Dictionary<string, TeacherEntry>(StringComparer.Ordinal);
        if (!File.Exists(path)) return new TeacherRegistry(directory, entries);
        var yaml = new YamlStream();
        using (var reader = new StreamReader(path)) yaml.Load(reader);
        if (yaml.Documents.Count == 0) return new TeacherRegistry(directory, entries);
        if (yaml.Documents[0].RootNode is not YamlMappingNode root || !root.Children.TryGetValue(new YamlScalarNode("teachers"), out var list)
            || list is not YamlSequenceNode seq)
            throw new InvalidDataException($"{path}: expected a 'teachers' list");
        int i = 0;
        foreach (var item in seq)
        {
            if (item is not YamlMappingNode m) throw new InvalidDataException($"{path}:{item.Start.Line}: teachers.{i}: expected a mapping");
            string Get(string key, bool required = true)
            {
                if (m.Children.TryGetValue(new YamlScalarNode(key), out var v) && v is YamlScalarNode s && !string.IsNullOrEmpty(s.Value)) return s.Value!;
                if (required) throw new InvalidDataException($"{path}:{m.Start.Line}: teachers.{i}.{key}: missing");
                return "";
            }
            var name = Get("name");
            int[] size = m.Children.TryGetValue(new YamlScalarNode("input_size"), out var sz) && sz is YamlSequenceNode ss && ss.Children.Count == 2
                ? ss.Children.Select(c => int.Parse(((YamlScalarNode)c).Value!, System.Globalization.CultureInfo.InvariantCulture)).ToArray()
                : throw new InvalidDataException($"{path}:{m.Start.Line}: teachers.{i}.input_size: expected [width, height]");
            var sha = Get("sha256", required: false);
            if (!entries.TryAdd(name, new TeacherEntry(name, Get("config"), Get("checkpoint"), sha.Length == 0 ? null : sha, Get("keypoint_set"), size,
                    $"{path}:{m.Start.Line}")))
                throw new InvalidDataException($"{path}:{m.Start.Line}: teachers.{i}.name: '{name}' is registered twice");
            i++;
        }
        return new TeacherRegistry(directory, entries);
    }

    public TeacherEntry Get(string name) =>
        _entries.TryGetValue(name, out var e) ? e
        : throw new KeyNotFoundException($"teacher '{name}' is not in {Path.Combine(Directory, ManifestName)}" +
            (Suggestions.Closest(name, _entries.Keys) is { } s ? $" (did you mean '{s}'?)" : "") +
            (_entries.Count == 0 ? "" : $"; registered: {string.Join(", ", _entries.Keys)}"));

    /// <summary>Resolves a checkpoint reference (path relative to the repository root, or URL -> teachers/cache/).</summary>
    public string ResolveCheckpoint(TeacherEntry e, string repoRoot)
    {
        if (Uri.TryCreate(e.Checkpoint, UriKind.Absolute, out var uri) && (uri.Scheme == "http" || uri.Scheme == "https"))
        {
            var cached = Path.Combine(Directory, "cache", Path.GetFileName(uri.LocalPath));
            if (!File.Exists(cached))
                throw new FileNotFoundException(
                    $"teacher '{e.Name}': download {e.Checkpoint} to {cached} (Distill does not download weights itself)", cached);
            return cached;
        }
        return Path.IsPathRooted(e.Checkpoint) ? e.Checkpoint : Path.Combine(repoRoot, e.Checkpoint);
    }

    /// <summary>Checks a file's SHA-256 against the expected hex digest (a prefix of at least 8 digits is accepted).</summary>
    public static void VerifySha256(string path, string expected, string teacher)
    {
        string actual;
        using (var fs = File.OpenRead(path)) actual = Convert.ToHexStringLower(SHA256.HashData(fs));
        var want = expected.Trim().ToLowerInvariant();
        if (want.Length < 8 || !actual.StartsWith(want, StringComparison.Ordinal))
            throw new InvalidDataException($"teacher '{teacher}': checksum mismatch for {path}: expected sha256 {want}, got {actual}");
    }
}
