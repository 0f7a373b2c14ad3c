using Distill.Pose.Keypoints;
using Distill.Pose.Models;
using Distill.Pose.Models.Options;
using Distill.Torch;
using Distill.Pose.Models.Checkpoints;
using Distill.Training.Config.Schema;
using Distill.Training.Distillation;

namespace Distill.Training.Teachers;

/// <summary>Where one teacher's model config and weights are, and what they must agree with.</summary>
/// <param name="Registered">The registry entry used, or null when the experiment gave both config and checkpoint.</param>
public sealed record TeacherFiles(string Config, string Checkpoint, string? Sha256, TeacherEntry? Registered);

/// <summary>
/// Loads an experiment's frozen teachers. A teacher's config and checkpoint come from its teachers[] entry, or, for
/// what that entry leaves out, from the registry (<see cref="ExperimentOptions.TeachersManifest"/>, read only when a
/// teacher needs it). Before any weight is read, the checkpoint's SHA-256 is checked (the experiment's sha256, else the
/// registry's) and the keypoint set and input size written in the registry and in the experiment must be the teacher
/// config's own. Relative paths are taken from the working directory.
/// </summary>
public sealed class TeacherLoader(string manifestPath)
{
    private TeacherRegistry? _registry;

    public TeacherLoader(ExperimentOptions experiment) : this(experiment.TeachersManifest)
    {
    }

    /// <summary>The manifest file teachers named alone are looked up in.</summary>
    public string ManifestPath { get; } = manifestPath;

    public TeacherRegistry Registry => _registry ??= TeacherRegistry.Read(ManifestPath);

    /// <summary>The files of <paramref name="t"/>: its own config and checkpoint, the registry's for what it leaves out.</summary>
    public TeacherFiles Locate(TeacherOptions t)
    {
        if (t.Config is not null && t.Checkpoint is not null)
            return new TeacherFiles(Path.GetFullPath(t.Config), Path.GetFullPath(t.Checkpoint), t.Sha256, null);
        var manifest = Path.GetFullPath(ManifestPath);
        if (_registry is null && !File.Exists(manifest))
            throw new FileNotFoundException($"teacher '{t.Name}' gives no config and checkpoint of its own, and the registry " +
                $"(teachers_manifest: {ManifestPath}) is not at {manifest}; relative paths are taken from the working directory", manifest);
        var e = Registry.Get(t.Name);
        return new TeacherFiles(
            t.Config is null ? Registry.ResolveConfig(e) : Path.GetFullPath(t.Config),
            t.Checkpoint is null ? Registry.ResolveCheckpoint(e) : Path.GetFullPath(t.Checkpoint),
            t.Sha256 ?? e.Sha256, e);
    }

    /// <summary>Builds, checks and loads teacher <paramref name="t"/>, frozen for distillation into <paramref name="studentSet"/>.</summary>
    /// <param name="needsFeatures">Feature KD will ask this teacher for backbone features (libtorch only).</param>
    public TeacherModel Load(TeacherOptions t, KeypointSet studentSet, Device device, bool needsFeatures = false)
    {
        var (model, set, loaded) = BuildAndLoad(t, (o, _) => ModelFactory.Build(o), m => m.InputSize);
        var teacher = TeacherModel.Create(t, model, set, studentSet, device, needsFeatures);
        teacher.CheckpointReport = loaded;
        return teacher;
    }

    /// <summary>
    /// Builds, checks and loads bottom-up teacher <paramref name="t"/> (a BottomupPoseEstimator config), frozen for
    /// distillation into a bottom-up student; the same files, checksum and agreement checks as top-down teachers.
    /// </summary>
    public BottomupTeacher LoadBottomup(TeacherOptions t, Device device)
    {
        var (model, set, loaded) = BuildAndLoad(t, (o, config) =>
        {
            if (o.Type != ModelType.BottomupPoseEstimator)
                throw new InvalidDataException($"teachers.{t.Name}: its config {config} has model.type {o.Type}; a bottom-up student " +
                    "learns from a bottom-up teacher (model.type BottomupPoseEstimator)");
            try
            {
                return ModelFactory.BuildBottomup(o);
            }
            catch (ArgumentException ex)
            {
                throw new InvalidDataException($"teachers.{t.Name}: its config {config}: {ex.Message}", ex);
            }
        }, m => m.InputSize);
        var teacher = BottomupTeacher.Create(t, model, set, device);
        teacher.CheckpointReport = loaded;
        return teacher;
    }

    /// <summary>
    /// The steps every teacher takes before it is frozen: locate its files, verify the checksum before any weight is
    /// read, build its config, check what the registry and experiment say of it, and load its weights.
    /// </summary>
    private (TModel Model, KeypointSet Set, WeightsLoadReport Report) BuildAndLoad<TModel>(TeacherOptions t,
        Func<ModelOptions, string, (TModel, KeypointSet)> build, Func<TModel, (int Width, int Height)> inputSize) where TModel : Distill.Torch.Nn.Module
    {
        var files = Locate(t);
        if (!File.Exists(files.Checkpoint))
            throw new FileNotFoundException($"teacher '{t.Name}': checkpoint not found: {files.Checkpoint}", files.Checkpoint);
        if (files.Sha256 is not null) Sha256Digest.Verify(files.Checkpoint, files.Sha256, $"teacher '{t.Name}'");
        var options = ModelConfig.Load(files.Config);
        var (model, set) = build(options, files.Config);
        WeightsLoadReport loaded;
        try
        {
            var input = inputSize(model);
            if (files.Registered is { } e)
                CheckAgreement($"{e.Source}: teacher '{t.Name}'", e.KeypointSet, e.InputSize, set, input, files.Config);
            CheckAgreement($"teachers.{t.Name}", t.KeypointSet, t.InputSize, set, input, files.Config);
            try
            {
                loaded = WeightsLoader.LoadInto(model, files.Checkpoint);
            }
            catch (InvalidDataException ex)
            {
                throw new InvalidDataException($"teacher '{t.Name}': {ex.Message}", ex);
            }
        }
        catch
        {
            model.Dispose();
            throw;
        }
        return (model, set, loaded);
    }

    /// <summary>A keypoint set or input size written beside a teacher must be the one its config builds.</summary>
    private static void CheckAgreement(string where, string? keypointSet, int[]? inputSize, KeypointSet set, (int Width, int Height) input,
        string config)
    {
        if (keypointSet is not null && keypointSet != set.Name)
            throw new InvalidDataException($"{where}: keypoint_set '{keypointSet}' differs from '{set.Name}' in its config {config}");
        if (inputSize is { Length: 2 } s && (s[0] != input.Width || s[1] != input.Height))
            throw new InvalidDataException(
                $"{where}: input_size [{s[0]}, {s[1]}] differs from [{input.Width}, {input.Height}] in its config {config}");
    }
}
