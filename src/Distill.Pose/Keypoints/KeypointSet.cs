namespace Distill.Pose.Keypoints;

/// <summary>
/// A named, ordered list of keypoints with the metadata everything else derives from: flip partners, skeleton,
/// half-body groups, OKS sigmas and loss weights. Sets are data (YAML files in <c>configs/keypoints</c>); a new
/// set is a new file. Instances are immutable; array-valued properties return fresh copies.
/// </summary>
public sealed class KeypointSet
{
    private readonly string[] _names;
    private readonly Dictionary<string, int> _index;
    private readonly (int Left, int Right)[] _flipPairs;
    private readonly int[] _flipIndices;
    private readonly SkeletonLink[] _links;
    private readonly Rgb[] _colors;
    private readonly int[] _upper;
    private readonly int[] _lower;
    private readonly double[] _sigmas;
    private readonly float[] _weights;
    private readonly string[][] _aliases;

    /// <summary>The set's identifier, e.g. <c>coco17</c>.</summary>
    public string Name { get; }

    /// <summary>The file the set was read from, or null when it was parsed from text.</summary>
    public string? SourcePath { get; }

    public int Count => _names.Length;

    public IReadOnlyList<string> Names => _names;

    /// <summary>Left/right partners as index pairs, in file order.</summary>
    public IReadOnlyList<(int Left, int Right)> FlipPairs => _flipPairs;

    /// <summary>For each keypoint, the index it becomes after a horizontal flip (itself when it has no partner).</summary>
    public int[] FlipIndices => (int[])_flipIndices.Clone();

    /// <summary>Limbs as index pairs.</summary>
    public (int From, int To)[] Skeleton => _links.Select(l => (l.From, l.To)).ToArray();

    /// <summary>Limbs with their drawing colours.</summary>
    public IReadOnlyList<SkeletonLink> Links => _links;

    /// <summary>Per-keypoint drawing colours (grey when the file gives none).</summary>
    public IReadOnlyList<Rgb> KeypointColors => _colors;

    /// <summary>Indices of upper-body keypoints (half-body augmentation).</summary>
    public int[] UpperBody => (int[])_upper.Clone();

    /// <summary>Indices of lower-body keypoints (half-body augmentation).</summary>
    public int[] LowerBody => (int[])_lower.Clone();

    /// <summary>OKS per-keypoint sigmas (COCO convention: k_i = 2 sigma_i).</summary>
    public double[] Sigmas => (double[])_sigmas.Clone();

    /// <summary>Per-keypoint loss weights (mmpose's joint_weights); all 1 when the file gives none.</summary>
    public float[] JointWeights => (float[])_weights.Clone();

    /// <summary>
    /// Other spellings of keypoint <paramref name="index"/> that annotation files use (the file's <c>aliases</c>), for
    /// example a dataset's own "neck" for a set that calls the point upper_neck to share it by name with MPII.
    /// </summary>
    public IReadOnlyList<string> AliasesOf(int index) => _aliases[index];

    /// <summary>Whether <paramref name="name"/> is keypoint <paramref name="index"/>'s name or one of its aliases.</summary>
    public bool Matches(int index, string name) => _names[index] == name || Array.IndexOf(_aliases[index], name) >= 0;

    private KeypointSet(string name, string? sourcePath, string[] names, (int, int)[] flipPairs, SkeletonLink[] links,
                        Rgb[] colors, int[] upper, int[] lower, double[] sigmas, float[] weights, string[][]? aliases = null)
    {
        _aliases = aliases ?? names.Select(_ => Array.Empty<string>()).ToArray();
        Name = name;
        SourcePath = sourcePath;
        _names = names;
        _index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < names.Length; i++) _index[names[i]] = i;
        _flipPairs = flipPairs;
        _flipIndices = Enumerable.Range(0, names.Length).ToArray();
        foreach (var (a, b) in flipPairs)
        {
            _flipIndices[a] = b;
            _flipIndices[b] = a;
        }
        _links = links;
        _colors = colors;
        _upper = upper;
        _lower = lower;
        _sigmas = sigmas;
        _weights = weights;
    }

    /// <summary>Index of <paramref name="name"/>, or -1 when the set has no such keypoint.</summary>
    public int IndexOf(string name) => _index.TryGetValue(name, out int i) ? i : -1;

    public bool Contains(string name) => _index.ContainsKey(name);

    public override string ToString() => $"{Name} ({Count} keypoints)";

    /// <summary>
    /// Directory searched first by <see cref="FromName"/>. When null, the search uses <c>keypoints/</c> next to the
    /// application, then <c>configs/keypoints</c> in the first ancestor directory of the application that has one.
    /// </summary>
    public static string? SearchDirectory { get; set; }

    /// <summary>Reads and validates a keypoint-set YAML file.</summary>
    public static KeypointSet Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new KeypointSetException(path, null, e.Message, e);
        }
        return Parse(text, path, Path.GetFullPath(path));
    }

    /// <summary>
    /// Finds <c>{name}.yaml</c> (see <see cref="SearchDirectory"/>) and loads it. A name that looks like a path
    /// (has a directory separator or ends in .yaml/.yml) is loaded directly.
    /// </summary>
    public static KeypointSet FromName(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (name.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".yml", StringComparison.OrdinalIgnoreCase)
            || name.Contains('/') || name.Contains('\\'))
            return Load(name);

        var tried = new List<string>();
        foreach (string dir in KeypointSetSearch.Directories(SearchDirectory))
        {
            string candidate = Path.Combine(dir, name + ".yaml");
            tried.Add(candidate);
            if (!File.Exists(candidate)) continue;
            var set = Load(candidate);
            if (set.Name != name)
                throw new KeypointSetException(candidate, "name", $"the file declares name '{set.Name}' but was looked up as '{name}'");
            return set;
        }
        throw new KeypointSetException(name, null, "no keypoint set of that name; looked for " + string.Join(", ", tried));
    }

    /// <summary>Parses and validates YAML text; <paramref name="source"/> labels error messages.</summary>
    public static KeypointSet Parse(string yaml, string source) => Parse(yaml, source, null);

    private static KeypointSet Parse(string yaml, string source, string? sourcePath)
    {
        var file = KeypointSetFile.Parse(yaml, source);
        var v = new Validator(source);

        string name = file.Name?.Trim() ?? "";
        if (name.Length == 0) throw v.Error("name", "missing or empty");

        if (file.Keypoints is null || file.Keypoints.Count == 0) throw v.Error("keypoints", "missing or empty");
        string[] names = file.Keypoints.ToArray();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < names.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(names[i])) throw v.Error($"keypoints[{i}]", "empty name");
            if (!index.TryAdd(names[i], i))
                throw v.Error($"keypoints[{i}]", $"'{names[i]}' already appears at keypoints[{index[names[i]]}]");
        }
        int k = names.Length;

        var flipPairs = new List<(int, int)>();
        var paired = new Dictionary<int, int>();
        for (int p = 0; p < (file.FlipPairs?.Count ?? 0); p++)
        {
            string key = $"flip_pairs[{p}]";
            var pair = file.FlipPairs![p];
            if (pair is null || pair.Count != 2) throw v.Error(key, "a flip pair has exactly two names");
            int a = v.Resolve(index, pair[0], key), b = v.Resolve(index, pair[1], key);
            if (a == b) throw v.Error(key, $"'{pair[0]}' cannot be its own flip partner");
            foreach (int j in new[] { a, b })
                if (paired.TryGetValue(j, out int other))
                    throw v.Error(key, $"'{names[j]}' is already in flip_pairs[{other}]");
            paired[a] = p;
            paired[b] = p;
            flipPairs.Add((a, b));
        }

        var links = new List<SkeletonLink>();
        for (int s = 0; s < (file.Skeleton?.Count ?? 0); s++)
        {
            string key = $"skeleton[{s}]";
            var entry = file.Skeleton![s];
            if (entry?.Link is null || entry.Link.Count != 2) throw v.Error(key + ".link", "a link has exactly two names");
            int a = v.Resolve(index, entry.Link[0], key + ".link"), b = v.Resolve(index, entry.Link[1], key + ".link");
            if (a == b) throw v.Error(key + ".link", $"'{entry.Link[0]}' is linked to itself");
            links.Add(new SkeletonLink(a, b, v.Color(entry.Color, key + ".color", new Rgb(255, 255, 255))));
        }

        var colors = new Rgb[k];
        if (file.KeypointColors is null) Array.Fill(colors, new Rgb(200, 200, 200));
        else
        {
            if (file.KeypointColors.Count != k)
                throw v.Error("keypoint_colors", $"{file.KeypointColors.Count} colours for {k} keypoints");
            for (int i = 0; i < k; i++) colors[i] = v.Color(file.KeypointColors[i], $"keypoint_colors[{i}]", default);
        }

        int[] upper = v.Group(index, file.UpperBody, "upper_body");
        int[] lower = v.Group(index, file.LowerBody, "lower_body");
        foreach (int i in upper)
            if (Array.IndexOf(lower, i) >= 0) throw v.Error("lower_body", $"'{names[i]}' is also in upper_body");

        if (file.Sigmas is null) throw v.Error("sigmas", "missing (one OKS sigma per keypoint)");
        if (file.Sigmas.Count != k) throw v.Error("sigmas", $"{file.Sigmas.Count} sigmas for {k} keypoints");
        for (int i = 0; i < k; i++)
            if (!double.IsFinite(file.Sigmas[i]) || file.Sigmas[i] <= 0)
                throw v.Error($"sigmas[{i}]", $"must be a positive number, got {file.Sigmas[i]}");

        var weights = new float[k];
        if (file.JointWeights is null) Array.Fill(weights, 1f);
        else
        {
            if (file.JointWeights.Count != k) throw v.Error("joint_weights", $"{file.JointWeights.Count} weights for {k} keypoints");
            for (int i = 0; i < k; i++)
            {
                if (!double.IsFinite(file.JointWeights[i]) || file.JointWeights[i] < 0)
                    throw v.Error($"joint_weights[{i}]", $"must be a non-negative number, got {file.JointWeights[i]}");
                weights[i] = (float)file.JointWeights[i];
            }
        }

        var aliases = names.Select(_ => new List<string>()).ToArray();
        foreach (var (keypoint, spellings) in file.Aliases ?? [])
        {
            int j = v.Resolve(index, keypoint, $"aliases.{keypoint}");
            foreach (var alias in spellings ?? [])
            {
                if (string.IsNullOrWhiteSpace(alias)) throw v.Error($"aliases.{keypoint}", "empty alias");
                if (index.ContainsKey(alias)) throw v.Error($"aliases.{keypoint}", $"'{alias}' is already a keypoint name");
                if (aliases.Any(a => a.Contains(alias))) throw v.Error($"aliases.{keypoint}", $"'{alias}' is listed twice");
                aliases[j].Add(alias);
            }
        }

        return new KeypointSet(name, sourcePath, names, flipPairs.ToArray(), links.ToArray(), colors, upper, lower,
                               file.Sigmas.ToArray(), weights, aliases.Select(a => a.ToArray()).ToArray());
    }

    private readonly struct Validator(string source)
    {
        public KeypointSetException Error(string key, string message) => new(source, key, message);

        public int Resolve(Dictionary<string, int> index, string? name, string key)
        {
            if (name is null || !index.TryGetValue(name, out int i))
                throw Error(key, $"'{name}' is not a keypoint of this set");
            return i;
        }

        public Rgb Color(List<int>? rgb, string key, Rgb fallback)
        {
            if (rgb is null) return fallback;
            if (rgb.Count != 3 || rgb.Any(c => c is < 0 or > 255)) throw Error(key, "a colour is [r, g, b] with values 0-255");
            return new Rgb((byte)rgb[0], (byte)rgb[1], (byte)rgb[2]);
        }

        public int[] Group(Dictionary<string, int> index, List<string>? group, string key)
        {
            if (group is null) return [];
            var result = new List<int>();
            for (int i = 0; i < group.Count; i++)
            {
                int j = Resolve(index, group[i], $"{key}[{i}]");
                if (result.Contains(j)) throw Error($"{key}[{i}]", $"'{group[i]}' is listed twice");
                result.Add(j);
            }
            return result.ToArray();
        }
    }
}
