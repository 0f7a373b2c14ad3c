using System.ComponentModel.DataAnnotations;
using System.Text.RegularExpressions;
using Distill.Config;
using Distill.Pose.Models.Options;
using Distill.Pose.Models;

namespace Distill.Training.Config.Schema;

/// <summary>
/// The root of a training configuration: what to train (<see cref="Model"/>), on what (<see cref="Data"/>), from whom
/// (<see cref="Teachers"/>, weighted by <see cref="Losses"/>), and how (optimizer, schedule, EMA, loop, evaluation,
/// logging, checkpoints).
/// </summary>
public sealed partial class ExperimentOptions : IValidatable
{
    public const string ModelKey = Distill.Pose.Models.ModelConfig.ModelKey;
    public const string CodecKey = Distill.Pose.Models.ModelConfig.CodecKey;
    public const string NameKey = "name";
    public const string WorkDirKey = "work_dir";

    /// <summary>Where runs go when neither work_dir nor --work-dir says (relative to the working directory).</summary>
    public const string DefaultRunsDirectory = "experiments";

    /// <summary>Run name; the loader writes in the configuration file's name when absent.</summary>
    public string? Name { get; set; }

    /// <summary>Run directory; the loader writes in experiments/&lt;name&gt; when absent.</summary>
    public string? WorkDir { get; set; }

    [Range(0, int.MaxValue)]
    public int Seed { get; set; }

    /// <summary>"cpu", "cuda" or "cuda:N".</summary>
    public string Device { get; set; } = "cpu";

    /// <summary>Intra-op threads; 0 uses every core.</summary>
    [Range(0, 4096)]
    public int Threads { get; set; }

    /// <summary>
    /// libtorch's deterministic algorithms (PyTorch's torch.use_deterministic_algorithms): ops with a deterministic
    /// implementation use it, at some cost in speed, and ops without one stop the run with an error naming them. Seeds
    /// and data order follow <see cref="Seed"/> either way.
    /// </summary>
    public bool Deterministic { get; set; }

    [Required]
    public ModelOptions Model { get; set; } = new();

    [Required]
    public DataOptions Data { get; set; } = new();

    public LossesOptions Losses { get; set; } = new();

    public List<TeacherOptions> Teachers { get; set; } = [];

    /// <summary>The teacher registry that teachers given by name alone are looked up in.</summary>
    [MinLength(1)]
    public string TeachersManifest { get; set; } = Distill.Training.Teachers.TeacherRegistry.DefaultManifest;

    public OptimizerOptions Optimizer { get; set; } = new();

    public ScheduleOptions Schedule { get; set; } = new();

    public EmaOptions Ema { get; set; } = new();

    public TrainOptions Train { get; set; } = new();

    public EvaluationOptions Evaluation { get; set; } = new();

    public LoggingOptions Logging { get; set; } = new();

    public CheckpointOptions Checkpoint { get; set; } = new();

    public IEnumerable<ValidationMessage> Validate()
    {
        if (!DevicePattern().IsMatch(Device))
            yield return ValidationMessage.For("device", $"expected cpu, cuda or cuda:N, got '{Device}'");

        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < Teachers.Count; i++)
        {
            if (!names.Add(Teachers[i].Name))
                yield return ValidationMessage.For($"teachers.{i}.name", $"another teacher is already named '{Teachers[i].Name}'");
        }

        foreach (var message in ValidateTeacherSources())
            yield return message;

        // Feature KD needs a teacher that takes part in it; otherwise the weight would silently do nothing.
        if (Losses.FeatureKd.Weight > 0 && Teachers.Count > 0 && Teachers.All(t => t.FeatureWeight == 0))
            yield return ValidationMessage.For("losses.feature_kd.weight",
                $"is {Losses.FeatureKd.Weight} but every teacher has feature_weight 0, so no feature term would be computed; " +
                "set teachers.N.feature_weight > 0 for the teachers whose features the student should learn", "teachers");

        foreach (var message in ValidateBestMetric())
            yield return message;
        foreach (var message in BottomupKdValidation.Of(this))
            yield return message;

        // OpenPifPaf's whole-image keys mean nothing to a model trained on person crops: refused, not ignored.
        if (Model.Type != ModelType.BottomupPoseEstimator)
            foreach (var key in Data.BottomupKeysSet())
                yield return ValidationMessage.For($"data.{key}",
                    $"is read by bottom-up models (model.type BottomupPoseEstimator) only; a {Model.Type} trains on person crops of model.input_size", "model.type");

        if (Schedule.CosineBeginEpoch is { } begin && Schedule.ByEpoch && begin >= Train.MaxEpochs)
            yield return ValidationMessage.For("schedule.cosine_begin_epoch",
                $"the cosine phase would begin at epoch {begin}, after training ends (train.max_epochs = {Train.MaxEpochs})",
                "train.max_epochs");
        if (Schedule.ByEpoch)
        {
            for (var i = 0; i < Schedule.Milestones.Count; i++)
            {
                if (Schedule.Milestones[i] >= Train.MaxEpochs)
                    yield return ValidationMessage.For($"schedule.milestones.{i}",
                        $"milestone {Schedule.Milestones[i]} is not before train.max_epochs = {Train.MaxEpochs}", "train.max_epochs");
            }
        }
        if (Data.Stage2Epochs >= Train.MaxEpochs)
            yield return ValidationMessage.For("data.stage2_epochs",
                $"{Data.Stage2Epochs} final epochs with the second pipeline leave none for the first (train.max_epochs = {Train.MaxEpochs})",
                "train.max_epochs");
        if (Train.ValInterval > Train.MaxEpochs)
            yield return ValidationMessage.For("train.val_interval",
                $"validation every {Train.ValInterval} epochs never happens in {Train.MaxEpochs} epochs", "train.max_epochs");
    }

    /// <summary>Every name in teachers[].sources must be a data source.</summary>
    private IEnumerable<ValidationMessage> ValidateTeacherSources()
    {
        var known = Data.Sources.Select(s => s.Name).ToList();
        for (var i = 0; i < Teachers.Count; i++)
        {
            if (Teachers[i].Sources is not { } selected) continue;
            for (var j = 0; j < selected.Count; j++)
            {
                if (!known.Contains(selected[j], StringComparer.Ordinal))
                    yield return ValidationMessage.For($"teachers.{i}.sources.{j}",
                        $"teacher '{Teachers[i].Name}' names source '{selected[j]}', but no data source has that name (sources: {string.Join(", ", known)})",
                        "data.sources");
                else if (selected.IndexOf(selected[j]) < j)
                    yield return ValidationMessage.For($"teachers.{i}.sources.{j}", $"source '{selected[j]}' is listed twice");
            }
        }
    }

    /// <summary>evaluation.best_metric's SOURCE must be a data source on which one of evaluation.metrics reports its NAME.</summary>
    private IEnumerable<ValidationMessage> ValidateBestMetric()
    {
        var e = Evaluation;
        // A malformed value, or a NAME no chosen metric reports, is evaluation's own error.
        if (e.BestMetricSource is not { } sourceName || e.BestMetricName is not { } name || !e.Metrics.Any(f => MetricNames.Of(f).Contains(name)))
            yield break;
        var source = Data.Sources.FirstOrDefault(s => s.Name == sourceName);
        if (source is null)
        {
            yield return ValidationMessage.For("evaluation.best_metric",
                $"'{e.BestMetric}' names source '{sourceName}', but no data source has that name (sources: {string.Join(", ", Data.Sources.Select(s => s.Name))}){e.BestMetricNote}",
                "data.sources");
            yield break;
        }
        var computed = e.Metrics.Where(f => MetricNames.AppliesTo(f, source.Format)).SelectMany(MetricNames.Of).Distinct().ToList();
        if (!computed.Contains(name))
            yield return ValidationMessage.For("evaluation.best_metric",
                $"'{name}' is not computed on source '{sourceName}' ({source.Format.ToString().ToLowerInvariant()} format); it gets " +
                (computed.Count == 0 ? "none of the metrics chosen" : string.Join(", ", computed)) + e.BestMetricNote, "evaluation.metrics", "data.sources");
    }

    [GeneratedRegex(@"^(cpu|cuda(:[0-9]+)?)$")]
    private static partial Regex DevicePattern();
}
