using Distill.Pose.Data;
using Distill.Pose.Keypoints;
using Distill.Pose.Models;
using Distill.Pose.Models.Checkpoints;
using Distill.Pose.Transforms;
using Distill.Torch;
using Distill.Torch.Nn;
using Distill.Training.Config.Schema;
using Distill.Training.Distillation;
using Distill.Training.Distributed;
using Distill.Training.Logging;
using Distill.Training.Teachers;
using Microsoft.Extensions.Logging;

namespace Distill.Training.Engine;

/// <summary>
/// Top-down training: person crops through the codec's targets, the <see cref="Distiller"/> with its teachers (and,
/// in stage 2, the self-teacher) for the loss terms, validation on every source's split by <see cref="ShardedEvaluation"/>.
/// </summary>
public sealed class TopdownTask : ITrainingTask
{
    public required TopdownPoseEstimator Model { get; init; }
    public TopdownPoseEstimator? Ema { get; init; }
    public required KeypointSet KeypointSet { get; init; }
    public required bool ChannelsLast { get; init; }
    public required Distiller Distiller { get; init; }
    public required IReadOnlyList<SourceData> Sources { get; init; }
    public required TrainingData Data { get; init; }
    public required Device Device { get; init; }
    public required DistributedContext Dist { get; init; }
    /// <summary>Builds a fresh, untrained copy of the student's architecture (for the self-teacher).</summary>
    public required Func<TopdownPoseEstimator> NewStudent { get; init; }
    public required TrainerSettings Settings { get; init; }

    public Module Student => Model;
    public Module? EmaModel => Ema;
    public IEnumerable<(string Name, Module Module)> Adapters => Distiller.Adapters.Select(kv => (kv.Key, (Module)kv.Value));
    public IEnumerable<(string Name, Module Module)> CheckpointModules => Distiller.Modules();

    public IEnumerable<(string Role, Module Network)> DistillationNetworks
    {
        get
        {
            foreach (var (name, fk) in Distiller.Adapters) yield return ($"kd.{name}", fk);
            if (Distiller.SelfTeacher is { } self) yield return (Distiller.SelfTeacherName, self);
        }
    }

    public int BatchesPerEpoch => Data.BatchesPerEpoch;
    public int SamplesPerEpoch => Data.SamplesPerEpoch;

    public IReadOnlyDictionary<string, string> CheckpointMetadata => new Dictionary<string, string>
    {
        ["keypoint_set"] = KeypointSet.Name,
        ["codec"] = Model.Codec.TypeName,
    };

    /// <summary>
    /// Builds the student, its EMA copy, the distiller with its teachers and the training data, in this order: every
    /// random initialisation draws from the seeded generator in it, so keep it.
    /// </summary>
    public static TopdownTask Create(ExperimentOptions o, TrainerSettings settings, Device device, DistributedContext dist, ILogger log)
    {
        var disposables = new List<IDisposable>();
        try
        {
            var (student, set) = ModelFactory.Build(o.Model, o.Losses.Gt);
            disposables.Add(student);
            student.To(device);
            TrainingSetup.LoadInitialWeights(student, o.Model, log);
            // After the weights are in and before the optimizer and the EMA take hold of the parameters; the layout
            // change keeps every parameter object, so nothing else needs to know.
            bool channelsLast = Models.ChannelsLast.AppliesTo(o.Model, student);
            if (channelsLast) student.ToChannelsLast();
            TrainingSetup.ShareAndSync(student, o.Model, dist, log);
            log.LogInformation("model {Name}: {Keypoints} keypoints, input {W}x{H}, {Layout}\n{Summary}", o.Name, set.Count, o.Model.InputSize[0],
                o.Model.InputSize[1], channelsLast ? "channels-last" : "default layout", ModelSummary.Of(student));

            TopdownPoseEstimator? emaModel = null;
            if (o.Ema.Enabled)
            {
                (emaModel, _) = ModelFactory.Build(o.Model, o.Losses.Gt);
                disposables.Add(emaModel);
                TrainingSetup.StartEma(emaModel, student, device, channelsLast);
            }

            var distiller = new Distiller(TrainingSetup.DistillationSettingsOf(o), student, device, channelsLast);
            disposables.Add(distiller);
            var teacherLoader = new TeacherLoader(o);
            foreach (var t in o.Teachers)
            {
                var teacher = teacherLoader.Load(t, set, device, needsFeatures: o.Losses.FeatureKd.Weight > 0 && t.FeatureWeight > 0);
                distiller.Add(teacher);
                log.LogInformation("teacher {Name}: {Set} at {W}x{H}, {Params:N0} parameters", t.Name, teacher.KeypointSet.Name,
                    teacher.InputSize.Width, teacher.InputSize.Height, teacher.Model.NumParameters());
                if (teacher.Sources is { } only) log.LogInformation("teacher {Name}: speaks for the images of {Sources} only", t.Name, string.Join(", ", only));
                if (teacher.CheckpointReport is { Mapped: true } mapped) log.LogInformation("teacher {Name} weights: {Report}", t.Name, mapped);
                // Only a run that asked for another engine says which one runs, so default logs stay as they were.
                if (t.Runtime != TeacherRuntime.Libtorch)
                    log.LogInformation("teacher {Name}: runtime {Runtime}{Reason}", t.Name,
                        teacher.Runtime == TeacherRuntime.OnnxRuntime ? "onnxruntime" : "libtorch",
                        teacher.RuntimeReason.Length > 0 ? $" ({teacher.RuntimeReason})" : "");
            }
            distiller.Validate();
            dist.BroadcastStates(distiller.Modules().SelectMany(m => m.Module.StateDict().Select(kv => kv.Value)));
            if (o.Train.SelfDistill.Enabled && student.Codec is not Pose.Codecs.SimCCLabel)
                throw new TrainingException("train.self_distill: self-distillation needs a SimCC student (model.head.type RTMCCHead)");

            var sources = o.Data.Sources.Select(s => SourceData.Load(s, train: true, val: true, o.Evaluation.MpiiGt)).ToList();
            foreach (var s in sources)
                log.LogInformation("data {Source}: {Train} training instances, {Val} validation instances ({Report}{ValReport})", s.Name,
                    s.Train?.Count ?? 0, s.Val?.Count ?? 0, s.Train?.Report.ToString() ?? "", s.Val is { } v ? "; " + v.Report : "");
            var data = new TrainingData(o, sources, set, student.Codec, distiller.Teachers.Select(t => t.InputSize).ToList(), dist);
            disposables.Add(data);
            return new TopdownTask
            {
                Model = student,
                Ema = emaModel,
                KeypointSet = set,
                ChannelsLast = channelsLast,
                Distiller = distiller,
                Sources = sources,
                Data = data,
                Device = device,
                Dist = dist,
                NewStudent = () => ModelFactory.Build(o.Model, o.Losses.Gt).Model,
                Settings = settings,
            };
        }
        catch
        {
            for (int i = disposables.Count - 1; i >= 0; i--) disposables[i].Dispose();
            throw;
        }
    }

    public IEnumerable<LoadedBatch<TrainingBatch>> Epoch(int epoch, int skipBatches, CancellationToken ct) =>
        TrainingBatch<TopdownBatch>.Wrap(Data.Epoch(epoch, skipBatches, ct), b => b.Count);

    public (Dictionary<string, Tensor> Terms, IDisposable Outputs) Forward(TrainingBatch batch, int epoch, bool mainStage)
    {
        var b = ((TrainingBatch<TopdownBatch>)batch).Value;
        Model.Train();
        if (!mainStage) Model.Backbone.Eval(); // frozen features: BN statistics stay as the main run left them
        // The step's dispose scope frees every handle made here.
        var input = Models.ChannelsLast.Input(b.Input.To(Device), ChannelsLast);
        var targets = b.Tensors.Where(kv => kv.Key != "input").ToDictionary(kv => kv.Key, kv => kv.Value.To(Device));
        TeacherViews? views = Distiller.Teachers.Count == 0 || !mainStage ? null
            : TeacherViews.Of(b, Distiller.Teachers.Count, Device);
        return Distiller.Forward(input, targets, views, epoch);
    }

    public Dictionary<string, double> Validate(Module model, int epoch, Action<string, int, int>? progress) =>
        ShardedEvaluation.Evaluate(Dist, (TopdownPoseEstimator)model, KeypointSet, Sources, Device, Settings.ValBatchSize, Settings.FlipTest,
            Settings.ValWorkers, Settings.Metrics, progress);

    public void LogValidationImages(RunLogger logger, Module model, string prefix, long iteration) =>
        logger.ValidationImages((TopdownPoseEstimator)model, KeypointSet, Sources, Device, Settings.FlipTest, prefix, iteration);

    public void Dispose()
    {
        Data.Dispose();
        Distiller.Dispose();
        Ema?.Dispose();
        Model.Dispose();
    }
}
