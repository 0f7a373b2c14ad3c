namespace Distill.Torch.Serialization;

/// <summary>
/// Extracts a model state dict (parameter and buffer names to tensors) from a checkpoint: a torch.save archive
/// (mmengine/mmpose checkpoints, plain <c>torch.save(model.state_dict())</c> files) or a safetensors file, chosen by
/// the file's content. Only the selected tensors are read.
/// </summary>
public static class StateDictLoader
{
    private const string ModulePrefix = "module.";
    private const string EmaPrefix = "ema.";

    /// <summary>Loads the state dict in file order; the tensors belong to the caller.</summary>
    public static OrderedDictionary<string, Tensor> LoadStateDict(string path, StateDictLoadOptions? options = null)
    {
        options ??= new StateDictLoadOptions();
        return IsSafeTensors(path) ? LoadSafeTensors(path, options) : LoadPth(path, options);
    }

    private static bool IsSafeTensors(string path)
    {
        Span<byte> head = stackalloc byte[9];
        int n;
        using (var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read))
            n = fs.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        // A safetensors JSON header opens right after the 8-byte length; in a zip archive byte 8 is the low byte of
        // the compression method and in a legacy torch file it is inside the magic number, so neither can be '{'.
        // (The length bytes themselves can be anything, including 0x80 or "PK", so they are not tested first.)
        if (n == 9 && head[8] == '{') return true;
        if (n >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4) return false;
        if (n >= 1 && head[0] == 0x80) return false;
        return path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase);
    }

    private static OrderedDictionary<string, Tensor> LoadSafeTensors(string path, StateDictLoadOptions options)
    {
        if (options.Entry is not null)
            throw new CheckpointFormatException(path, $"a safetensors file has no entry '{options.Entry}': it holds the state dict itself");
        var header = SafeTensorsHeader.Read(path);
        var byName = header.Tensors.ToDictionary(e => e.Name, StringComparer.Ordinal);
        var selected = SelectKeys(header.Tensors.Select(e => e.Name).ToList(), options, fromEmaEntry: false, path);
        var renamed = selected.ToDictionary(s => s.Original, s => s.Final, StringComparer.Ordinal);
        return SafeTensors.LoadEntries(path, header, selected.Select(s => byName[s.Original]), n => renamed[n]);
    }

    private static OrderedDictionary<string, Tensor> LoadPth(string path, StateDictLoadOptions options)
    {
        using var archive = PthArchive.Open(path);
        // Tensors stay descriptions until selected, so optimizer state and other entries are never read.
        var root = archive.Unpickle(t => t);
        var (dict, fromEma) = FindStateDict(root, options, path);

        var keys = new List<string>(dict.Count);
        foreach (var k in dict.Keys)
            keys.Add(k as string ?? throw new CheckpointFormatException(path, $"state dict has a non-string key {RestrictedUnpickler.Describe(k)}"));
        var selected = SelectKeys(keys, options, fromEma, path);

        var stored = new List<(string Key, StoredTensor Tensor)>(selected.Count);
        foreach (var (original, final) in selected)
        {
            var value = dict[original];
            if (value is not StoredTensor t)
                throw new CheckpointFormatException(path,
                    $"state-dict entry '{original}' is a {RestrictedUnpickler.Describe(value)}, not a tensor");
            stored.Add((final, t));
        }

        var result = new OrderedDictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var (key, t) in stored) result.Add(key, archive.Materialize(t));
            return result;
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
    }

    private static (PickleDict Dict, bool FromEma) FindStateDict(object? root, StateDictLoadOptions options, string path)
    {
        if (root is not PickleDict top)
            throw new CheckpointFormatException(path, $"the checkpoint holds a {RestrictedUnpickler.Describe(root)}, not a dict");
        if (options.Entry is { } entry)
            return (Entry(top, entry, path), false);
        if (options.UseEma && top.ContainsKey("ema_state_dict"))
            return (Entry(top, "ema_state_dict", path), true);
        if (top.ContainsKey("state_dict"))
            return (Entry(top, "state_dict", path), false);
        if (top.Count > 0 && top.HasStringKeys && top.Values.All(v => v is StoredTensor))
            return (top, false);
        throw new CheckpointFormatException(path,
            "no 'state_dict' entry, and the root is not a map of names to tensors (root keys: " +
            string.Join(", ", top.Keys.Take(12)) + (top.Count > 12 ? ", ..." : "") + "); name the entry with StateDictLoadOptions.Entry");
    }

    private static PickleDict Entry(PickleDict top, string entry, string path)
    {
        if (!top.TryGetValue(entry, out var value))
            throw new CheckpointFormatException(path, $"no entry '{entry}' (root keys: {string.Join(", ", top.Keys.Take(12))})");
        return value as PickleDict
            ?? throw new CheckpointFormatException(path, $"entry '{entry}' is a {RestrictedUnpickler.Describe(value)}, not a dict");
    }

    /// <summary>Applies the EMA choice, 'module.' stripping and the prefix filter; returns (file key, final key).</summary>
    internal static List<(string Original, string Final)> SelectKeys(IReadOnlyList<string> keys, StateDictLoadOptions options,
        bool fromEmaEntry, string path)
    {
        IEnumerable<(string Original, string Final)> sel = keys.Select(k => (k, k));
        if (fromEmaEntry)
        {
            // An averaged-model wrapper: the model sits under 'module.', the wrapper's own buffers beside it.
            if (keys.Any(k => k.StartsWith(ModulePrefix, StringComparison.Ordinal)))
                sel = sel.Where(s => s.Final.StartsWith(ModulePrefix, StringComparison.Ordinal))
                    .Select(s => (s.Original, s.Final[ModulePrefix.Length..]));
        }
        else if (options.UseEma)
        {
            if (!keys.Any(k => k.StartsWith(EmaPrefix, StringComparison.Ordinal)))
                throw new CheckpointFormatException(path, "no EMA weights: neither an 'ema_state_dict' entry nor keys starting with 'ema.'");
            sel = sel.Where(s => s.Final.StartsWith(EmaPrefix, StringComparison.Ordinal))
                .Select(s => (s.Original, s.Final[EmaPrefix.Length..]));
        }
        else
        {
            sel = sel.Where(s => !s.Final.StartsWith(EmaPrefix, StringComparison.Ordinal));
        }

        if (options.StripModulePrefix)
            sel = sel.Select(s => (s.Original, s.Final.StartsWith(ModulePrefix, StringComparison.Ordinal) ? s.Final[ModulePrefix.Length..] : s.Final));

        if (!string.IsNullOrEmpty(options.Prefix))
        {
            var prefix = options.Prefix;
            var before = sel.ToList();
            sel = before.Where(s => s.Final.StartsWith(prefix, StringComparison.Ordinal)).Select(s => (s.Original, s.Final[prefix.Length..]));
            if (!sel.Any())
                throw new CheckpointFormatException(path,
                    $"no key starts with '{prefix}' (keys: {string.Join(", ", before.Take(6).Select(s => s.Final))}{(before.Count > 6 ? ", ..." : "")})");
        }

        var result = sel.ToList();
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (original, final) in result)
        {
            if (final.Length == 0) throw new CheckpointFormatException(path, $"key '{original}' becomes empty after removing prefixes");
            if (!seen.TryAdd(final, original))
                throw new CheckpointFormatException(path, $"keys '{seen[final]}' and '{original}' both become '{final}'");
        }
        return result;
    }
}
