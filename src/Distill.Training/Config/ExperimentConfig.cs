using Distill.Config;
using Distill.Pose.Models;
using Distill.Training.Config.Schema;

namespace Distill.Training.Config;

/// <summary>Reads and binds a whole experiment (training) configuration.</summary>
public static class ExperimentConfig
{
    /// <summary>Loads and binds a full experiment configuration.</summary>
    public static ExperimentOptions Load(string path, IEnumerable<string>? overrides = null) => Load(path, overrides, out _);

    /// <summary>
    /// Loads and binds a full experiment configuration; <paramref name="resolved"/> is the merged, overridden tree
    /// that was bound (write it to the run directory with <see cref="ConfigLoader.ToYaml"/>). A root-level <c>codec</c>
    /// section lands in <c>model.codec</c> (<see cref="ModelConfig.HoistCodec"/>). A missing <c>name</c> becomes the file
    /// name without extension and a missing <c>work_dir</c> becomes <c>experiments/&lt;name&gt;</c>; both are written into
    /// <paramref name="resolved"/>, so a copy saved in the run directory keeps them.
    /// </summary>
    public static ExperimentOptions Load(string path, IEnumerable<string>? overrides, out ConfigMapping resolved)
    {
        var errors = new List<ConfigError>();
        var tree = ConfigLoader.Resolve(path, errors, out var incomplete);
        tree = ModelConfig.HoistCodec(tree, errors);
        tree = ConfigLoader.ApplyOverrides(tree, ConfigLoader.ParseOverrides(overrides, errors, ModelConfig.CodecReroot), errors);
        if (incomplete)
            ConfigLoader.ThrowIfAny(errors);
        tree = NameTheRun(tree, Path.GetFileNameWithoutExtension(path));

        var experiment = ConfigBinder.Bind<ExperimentOptions>(tree, "", errors);
        ConfigLoader.ThrowIfAny(errors);
        resolved = tree;
        return experiment;
    }

    /// <summary>Writes the default name and work_dir into the tree, where a saved copy of it keeps them.</summary>
    private static ConfigMapping NameTheRun(ConfigMapping tree, string fileStem)
    {
        if (tree[ExperimentOptions.NameKey] is null or ConfigScalar { IsNull: true })
            tree = tree.With(ExperimentOptions.NameKey, tree.Location, ConfigScalar.String(fileStem, tree.Location));
        if (tree[ExperimentOptions.WorkDirKey] is null or ConfigScalar { IsNull: true } && tree[ExperimentOptions.NameKey] is ConfigScalar name)
            tree = tree.With(ExperimentOptions.WorkDirKey, tree.Location, ConfigScalar.String(ExperimentOptions.DefaultRunsDirectory + "/" + name.Value, tree.Location));
        return tree;
    }
}
