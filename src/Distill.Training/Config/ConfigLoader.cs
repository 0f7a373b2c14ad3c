using Distill.Training.Config.Schema;

namespace Distill.Training.Config;

/// <summary>
/// Entry point of the configuration system: reads a YAML file with its <c>_base_</c> chain, applies
/// <c>--set key=value</c> overrides, binds the result to the experiment schema and writes the resolved tree back.
/// Every problem found is collected and thrown together as one <see cref="ConfigException"/>.
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

    /// <summary>Loads and binds a full experiment (training) configuration.</summary>
    public static ExperimentOptions LoadExperiment(string path, IEnumerable<string>? overrides = null) =>
        LoadExperiment(path, overrides, out _);

    /// <summary>
    /// Loads and binds a full experiment configuration; <paramref name="resolved"/> is the merged, overridden tree
    /// that was bound (write it to the run directory with <see cref="ToYaml"/>). A root-level <c>codec</c> section
    /// is moved under <c>model</c> (merged beneath an existing <c>model.codec</c>), and <c>--set codec.*</c>
    /// addresses <c>model.codec.*</c>. A missing <c>name</c> becomes the file name without extension and a missing
    /// <c>work_dir</c> becomes <c>work_dirs/&lt;name&gt;</c>; both are written into <paramref name="resolved"/>, so a
    /// copy saved in the run directory keeps them.
    /// </summary>
    public static ExperimentOptions LoadExperiment(string path, IEnumerable<string>? overrides, out ConfigMapping resolved)
    {
        var errors = new List<ConfigError>();
        var tree = Resolve(path, errors, out var incomplete);
        tree = HoistCodec(tree, errors);
        tree = ApplyOverrides(tree, ParseOverrides(overrides, errors, codecInModel: true), errors);
        if (incomplete)
            ThrowIfAny(errors);
        tree = NameTheRun(tree, Path.GetFileNameWithoutExtension(path));

        var experiment = ConfigBinder.Bind<ExperimentOptions>(tree, "", errors);
        ThrowIfAny(errors);
        resolved = tree;
        return experiment;
    }

    /// <summary>
    /// Loads only the <c>model</c> section of a configuration (a model-only file, a teacher's file, or a full
    /// experiment): other sections and overrides of other sections are ignored, so nothing about data has to be
    /// valid, or even present, to build or export a model.
    /// </summary>
    public static ModelOptions LoadModel(string path, IEnumerable<string>? overrides = null)
    {
        var errors = new List<ConfigError>();
        var tree = Resolve(path, errors, out var incomplete);
        tree = HoistCodec(tree, errors);
        var modelOverrides = ParseOverrides(overrides, errors, codecInModel: true).Where(o => o.StartsWith(ExperimentOptions.ModelKey));
        tree = ApplyOverrides(tree, modelOverrides, errors);
        if (incomplete)
            ThrowIfAny(errors);

        ModelOptions? model = null;
        switch (tree[ExperimentOptions.ModelKey])
        {
            case null:
                errors.Add(new ConfigError(tree.Location, ExperimentOptions.ModelKey, "missing required key"));
                break;
            case ConfigMapping section:
                model = ConfigBinder.Bind<ModelOptions>(section, ExperimentOptions.ModelKey, errors);
                break;
            case var other:
                errors.Add(new ConfigError(other.Location, ExperimentOptions.ModelKey, $"expected a mapping, got {other.Describe()}"));
                break;
        }
        ThrowIfAny(errors);
        return model!;
    }

    /// <summary>The tree as YAML text, keys in the order they appear in the tree.</summary>
    public static string ToYaml(ConfigNode node) => YamlWriter.Write(node);

    private static ConfigMapping Resolve(string path, List<ConfigError> errors, out bool incomplete)
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

    private static List<ConfigOverride> ParseOverrides(IEnumerable<string>? overrides, List<ConfigError> errors, bool codecInModel = false)
    {
        var parsed = new List<ConfigOverride>();
        foreach (var text in overrides ?? [])
        {
            var o = ConfigOverride.Parse(text, errors);
            if (o is null)
                continue;
            if (codecInModel)
                o.Reroot([ExperimentOptions.CodecKey], [ExperimentOptions.ModelKey, ExperimentOptions.CodecKey]);
            parsed.Add(o);
        }
        return parsed;
    }

    private static ConfigMapping ApplyOverrides(ConfigMapping tree, IEnumerable<ConfigOverride> overrides, List<ConfigError> errors)
    {
        foreach (var o in overrides)
            tree = o.ApplyTo(tree, errors);
        return tree;
    }

    /// <summary>
    /// mmpose configs keep the codec at the top level; the schema keeps it in the model, which is what an exported
    /// or teacher model needs. Both spellings are accepted and meet in <c>model.codec</c>.
    /// </summary>
    private static ConfigMapping HoistCodec(ConfigMapping tree, List<ConfigError> errors)
    {
        var codec = tree.Find(ExperimentOptions.CodecKey);
        if (codec is null)
            return tree;
        var modelEntry = tree.Find(ExperimentOptions.ModelKey);
        ConfigMapping model;
        switch (modelEntry?.Value)
        {
            case null:
            case ConfigScalar { IsNull: true }:
                model = new ConfigMapping([], codec.KeyLocation);
                break;
            case ConfigMapping m:
                model = m;
                break;
            default:
                // A malformed model section is reported by the binder; leave both keys where they are.
                return tree;
        }
        var modelCodec = model.Find(ExperimentOptions.CodecKey);
        var merged = modelCodec is null
            ? codec.Value
            : ConfigMerger.Merge(codec.Value, modelCodec.Value, ExperimentOptions.ModelKey + "." + ExperimentOptions.CodecKey, errors);
        model = model.With(ExperimentOptions.CodecKey, modelCodec?.KeyLocation ?? codec.KeyLocation, merged);
        return tree.Without(ExperimentOptions.CodecKey)
            .With(ExperimentOptions.ModelKey, modelEntry?.KeyLocation ?? codec.KeyLocation, model);
    }

    /// <summary>Writes the default name and work_dir into the tree, where a saved copy of it keeps them.</summary>
    private static ConfigMapping NameTheRun(ConfigMapping tree, string fileStem)
    {
        if (tree[ExperimentOptions.NameKey] is null or ConfigScalar { IsNull: true })
            tree = tree.With(ExperimentOptions.NameKey, tree.Location, ConfigScalar.String(fileStem, tree.Location));
        if (tree[ExperimentOptions.WorkDirKey] is null or ConfigScalar { IsNull: true } && tree[ExperimentOptions.NameKey] is ConfigScalar name)
            tree = tree.With(ExperimentOptions.WorkDirKey, tree.Location, ConfigScalar.String("work_dirs/" + name.Value, tree.Location));
        return tree;
    }

    private static void ThrowIfAny(List<ConfigError> errors)
    {
        if (errors.Count > 0)
            throw new ConfigException(errors.Distinct().ToList());
    }
}
