using Distill.Config;
using Distill.Pose.Models.Options;

namespace Distill.Pose.Models;

/// <summary>
/// Reads the <c>model</c> section of a configuration file (a model-only file, a teacher's file or a whole experiment)
/// into <see cref="ModelOptions"/>: all that building, loading, exporting or running a model needs.
/// </summary>
public static class ModelConfig
{
    /// <summary>The section holding the model.</summary>
    public const string ModelKey = "model";

    /// <summary>The codec section, accepted at the top level (mmpose's spelling) and inside the model.</summary>
    public const string CodecKey = "codec";

    /// <summary>
    /// Loads only the <c>model</c> section: other sections and overrides of other sections are ignored, so nothing
    /// about data has to be valid, or even present, to build or export a model.
    /// </summary>
    public static ModelOptions Load(string path, IEnumerable<string>? overrides = null)
    {
        var errors = new List<ConfigError>();
        var tree = ConfigLoader.Resolve(path, errors, out var incomplete);
        tree = HoistCodec(tree, errors);
        var modelOverrides = ConfigLoader.ParseOverrides(overrides, errors, CodecReroot).Where(o => o.StartsWith(ModelKey));
        tree = ConfigLoader.ApplyOverrides(tree, modelOverrides, errors);
        if (incomplete)
            ConfigLoader.ThrowIfAny(errors);

        return BindModel(tree, errors);
    }

    /// <summary>
    /// The <c>model</c> section of a YAML text that needs no bases, such as the resolved configuration a training
    /// checkpoint stores; <paramref name="label"/> names it in errors.
    /// </summary>
    public static ModelOptions Parse(string yaml, string label)
    {
        var errors = new List<ConfigError>();
        var tree = HoistCodec(ConfigLoader.Parse(yaml, label), errors);
        return BindModel(tree, errors);
    }

    private static ModelOptions BindModel(ConfigMapping tree, List<ConfigError> errors)
    {
        ModelOptions? model = null;
        switch (tree[ModelKey])
        {
            case null:
                errors.Add(new ConfigError(tree.Location, ModelKey, "missing required key"));
                break;
            case ConfigMapping section:
                model = ConfigBinder.Bind<ModelOptions>(section, ModelKey, errors);
                break;
            case var other:
                errors.Add(new ConfigError(other.Location, ModelKey, $"expected a mapping, got {other.Describe()}"));
                break;
        }
        ConfigLoader.ThrowIfAny(errors);
        return model!;
    }

    /// <summary><c>--set codec.*</c> addresses <c>model.codec.*</c>.</summary>
    public static (string[] From, string[] To) CodecReroot => ([CodecKey], [ModelKey, CodecKey]);

    /// <summary>
    /// mmpose configs keep the codec at the top level; the schema keeps it in the model, which is what an exported
    /// or teacher model needs. Both spellings are accepted and meet in <c>model.codec</c> (a root-level section merged
    /// beneath an existing <c>model.codec</c>).
    /// </summary>
    public static ConfigMapping HoistCodec(ConfigMapping tree, List<ConfigError> errors)
    {
        var codec = tree.Find(CodecKey);
        if (codec is null)
            return tree;
        var modelEntry = tree.Find(ModelKey);
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
        var modelCodec = model.Find(CodecKey);
        var merged = modelCodec is null
            ? codec.Value
            : ConfigMerger.Merge(codec.Value, modelCodec.Value, ModelKey + "." + CodecKey, errors);
        model = model.With(CodecKey, modelCodec?.KeyLocation ?? codec.KeyLocation, merged);
        return tree.Without(CodecKey).With(ModelKey, modelEntry?.KeyLocation ?? codec.KeyLocation, model);
    }
}
