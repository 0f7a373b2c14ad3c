using Distill.Pose.BottomUp;
using Distill.Pose.BottomUp.Data;
using Distill.Pose.Data;
using Distill.Pose.Datasets;
using Distill.Pose.Evaluation;
using Distill.Pose.Keypoints;
using Distill.Pose.Models;
using Distill.Pose.Models.Checkpoints;
using Distill.Torch;
using Distill.Torch.Nn;
using Distill.Training.Config.Schema;
using Distill.Training.Distillation;
using Distill.Training.Distributed;
using Distill.Training.Evaluation;
using Distill.Training.Logging;
using Distill.Training.Teachers;
using Microsoft.Extensions.Logging;

namespace Distill.Training.Engine;

/// <summary>
/// Bottom-up training (OpenPifPaf's CIF/CAF): whole images of every COCO source, augmented and encoded into field
/// targets on the loader's workers, the six composite-field loss terms (cif.c, cif.vec, cif.scales, caf.c, caf.vec,
/// caf.scales), with teachers the <see cref="BottomupDistiller"/>'s terms beside them (loss_kd/NAME/..., loss_fea/NAME),
/// and validation by COCO AP on the decoded poses of each source's validation split.
/// </summary>
public sealed class BottomupTask : ITrainingTask
{
    public required BottomupPoseEstimator Model { get; init; }
    public BottomupPoseEstimator? Ema { get; init; }
    public required KeypointSet KeypointSet { get; init; }
    public required bool ChannelsLast { get; init; }
    public required Device Device { get; init; }
    public required BottomupTrainingData Data { get; init; }
    public required IReadOnlyList<BottomupValSplit> Validation { get; init; }

    /// <summary>Long side of a validation image at the input (model.input_size's larger side, as `distill eval` uses).</summary>
    public required int EvalEdge { get; init; }

    public required int ValBatchSize { get; init; }

    /// <summary>The workers validation is split over (one process: itself).</summary>
    public required DistributedContext Dist { get; init; }

    /// <summary>The teachers' terms; null without teachers.</summary>
    public BottomupDistiller? Distiller { get; init; }

    public IReadOnlyCollection<Tensor> UnreachedParameters { get; init; } = [];

    public Module Student => Model;
    public Module? EmaModel => Ema;
    public IEnumerable<(string Name, Module Module)> Adapters =>
        Distiller?.Adapters.Select(kv => (kv.Key, (Module)kv.Value)) ?? [];
    public IEnumerable<(string Name, Module Module)> CheckpointModules => Distiller?.Modules() ?? [];
    public IEnumerable<(string Role, Module Network)> DistillationNetworks =>
        Distiller?.Adapters.Select(kv => ($"kd.{kv.Key}", (Module)kv.Value)) ?? [];
    public int BatchesPerEpoch => Data.BatchesPerEpoch;
    public int SamplesPerEpoch => Data.SamplesPerEpoch;

    public IReadOnlyDictionary<string, string> CheckpointMetadata => new Dictionary<string, string>
    {
        ["keypoint_set"] = KeypointSet.Name,
        ["model_type"] = "BottomupPoseEstimator",
    };

    public static BottomupTask Create(ExperimentOptions o, TrainerSettings settings, Device device, DistributedContext dist, ILogger log)
    {
        if (o.Train.SelfDistill.Enabled)
            throw new TrainingException("train.self_distill: self-distillation needs a SimCC student; a bottom-up model has none");
        BottomupValidation.CheckFormats(o.Data.Sources);

        var disposables = new List<IDisposable>();
        try
        {
            var (student, set) = Build(o);
            disposables.Add(student);
            student.To(device);
            TrainingSetup.LoadInitialWeights(student, o.Model, log);
            var unreached = dist.IsDistributed ? Unreached(student, o.Data.SquareEdge ?? o.Model.InputSize.Max(), log) : [];
            bool channelsLast = o.Model.ChannelsLast && student.IsConvolutional;
            if (channelsLast) student.ToChannelsLast();
            TrainingSetup.ShareAndSync(student, o.Model, dist, log);
            log.LogInformation("model {Name}: bottom-up {Keypoints} keypoints, {Fields} CAF fields, stride {Stride}, {Layout}, {Params:N0} parameters",
                o.Name, set.Count, student.Meta.Skeleton.Count, student.Stride, channelsLast ? "channels-last" : "default layout", student.NumParameters());

            BottomupPoseEstimator? emaModel = null;
            if (o.Ema.Enabled)
            {
                emaModel = Build(o).Model;
                disposables.Add(emaModel);
                TrainingSetup.StartEma(emaModel, student, device, channelsLast);
            }

            // After the student and its EMA: the feature adapters draw their initial weights from the seeded generator.
            var distiller = o.Teachers.Count == 0 ? null : CreateDistiller(o, student, channelsLast, device, dist, log);
            if (distiller is not null) disposables.Add(distiller);

            var data = BottomupTrainingData.Create(o, student, set, dist, log);
            disposables.Add(data);
            var validation = BottomupValidation.LoadAll(o.Data.Sources);
            foreach (var v in validation)
                log.LogInformation("data {Source}: {Images} validation images, {People} annotated people", v.Name, v.Samples.Count,
                    v.GroundTruth.Annotations.Count(a => !a.IsCrowd && a.NumKeypoints > 0));
            return new BottomupTask
            {
                Model = student,
                Ema = emaModel,
                KeypointSet = set,
                ChannelsLast = channelsLast,
                Device = device,
                Data = data,
                Validation = validation,
                EvalEdge = o.Model.InputSize.Max(),
                ValBatchSize = settings.ValBatchSize,
                Dist = dist,
                Distiller = distiller,
                UnreachedParameters = unreached,
            };
        }
        catch
        {
            for (int i = disposables.Count - 1; i >= 0; i--) disposables[i].Dispose();
            throw;
        }
    }

    /// <summary>Loads and freezes every teacher, logs each, and builds the distiller that owns them.</summary>
    private static BottomupDistiller CreateDistiller(ExperimentOptions o, BottomupPoseEstimator student, bool channelsLast, Device device,
        DistributedContext dist, ILogger log)
    {
        var loader = new TeacherLoader(o);
        var teachers = new List<BottomupTeacher>();
        try
        {
            foreach (var t in o.Teachers)
            {
                var teacher = loader.LoadBottomup(t, device);
                teachers.Add(teacher);
                log.LogInformation("teacher {Name}: bottom-up {Set}, stride {Stride}, {Layout}, {Params:N0} parameters", t.Name, teacher.KeypointSet.Name,
                    teacher.Stride, teacher.IsChannelsLast ? "channels-last" : "default layout", teacher.Model.NumParameters());
                if (teacher.CheckpointReport is { Mapped: true } mapped) log.LogInformation("teacher {Name} weights: {Report}", t.Name, mapped);
            }
        }
        catch
        {
            foreach (var t in teachers) t.Dispose();
            throw;
        }
        // The distiller owns the teachers from here, and frees them itself if it refuses one.
        var kd = new BottomupDistiller(BottomupDistillationSettings.From(o), student, teachers, channelsLast);
        try
        {
            // Every worker starts from rank 0's adapters, as from its student.
            dist.BroadcastStates(kd.Modules().SelectMany(m => m.Module.StateDict().Select(kv => kv.Value)));
        }
        catch
        {
            kd.Dispose();
            throw;
        }
        return kd;
    }

    /// <summary>
    /// The trainable parameters that get no gradient from the model's outputs, such as the CSPNeXt stages after the
    /// last of backbone.out_indices (kept for checkpoint names, never run), found by the weights publisher's probe in
    /// eval mode only: it draws nothing from the seeded generators and changes no BatchNorm statistics, and a training
    /// forward reaches the same parameters (the modes differ in statistics and activations only).
    /// </summary>
    private static List<Tensor> Unreached(BottomupPoseEstimator model, int edge, ILogger log)
    {
        var reached = OmittedWeights.ParametersReached(model, (edge, edge), trainingPass: false);
        var unreached = model.NamedParameters().Where(p => p.Parameter.RequiresGrad && !reached.Contains(p.Name)).ToList();
        if (unreached.Count > 0)
            log.LogInformation("data-parallel: the forward does not reach {Count} parameters ({Modules}); they are not trained and the gradient reducer leaves them out",
                unreached.Count, string.Join(", ", OmittedWeights.OutermostModulesWithout(model, reached)));
        return unreached.Select(p => p.Parameter).ToList();
    }

    private static (BottomupPoseEstimator Model, KeypointSet Keypoints) Build(ExperimentOptions o)
    {
        try
        {
            return ModelFactory.BuildBottomup(o.Model);
        }
        catch (ArgumentException e)
        {
            throw new TrainingException(e.Message, e);
        }
    }

    public IEnumerable<LoadedBatch<TrainingBatch>> Epoch(int epoch, int skipBatches, CancellationToken ct) =>
        TrainingBatch<BottomupBatch>.Wrap(Data.Epoch(epoch, skipBatches, ct), b => b.Count);

    public (Dictionary<string, Tensor> Terms, IDisposable Outputs) Forward(TrainingBatch batch, int epoch, bool mainStage)
    {
        var b = ((TrainingBatch<BottomupBatch>)batch).Value;
        Model.Train();
        var input = Models.ChannelsLast.Input(b.Input.To(Device), ChannelsLast);
        var targets = b.Targets.ToDictionary(kv => kv.Key, kv => kv.Value.To(Device));
        if (Distiller is null)
        {
            var outputs = Model.Forward(input);
            return (Model.Loss(outputs, targets), new Fields(outputs));
        }
        // Feature KD reads the student's backbone outputs, which a plain forward frees.
        var outs = Distiller.Adapters.Count > 0 ? Model.ForwardWithFeatures(input) : new PoseOutputs([], Model.Forward(input));
        var terms = Model.Loss(outs.Heads, targets);
        foreach (var (name, term) in Distiller.Terms(input, outs.Heads, Distiller.Adapters.Count > 0 ? outs.Features : null, epoch))
            terms.Add(name, term);
        return (terms, outs);
    }

    public Dictionary<string, double> Validate(Module model, int epoch, Action<string, int, int>? progress) =>
        ShardedBottomupEvaluation.Evaluate(Dist, (BottomupPoseEstimator)model, Validation, EvalEdge, ValBatchSize, Device, progress);

    public void LogValidationImages(RunLogger logger, Module model, string prefix, long iteration) =>
        logger.ValidationImages((BottomupPoseEstimator)model, KeypointSet, Validation, EvalEdge, Device, prefix, iteration);

    public void Dispose()
    {
        Data.Dispose();
        Distiller?.Dispose();
        Ema?.Dispose();
        Model.Dispose();
    }

    /// <summary>The student's raw fields of one step, disposed with it.</summary>
    private sealed class Fields(Dictionary<string, Tensor> outputs) : IDisposable
    {
        public void Dispose()
        {
            foreach (var t in outputs.Values) t.Dispose();
        }
    }
}

/// <summary>
/// The training images of a bottom-up experiment: every image with a labelled person of each COCO source (ratio 1;
/// ratio 0 leaves a source to validation), shuffled per epoch from the seed, cut into data-parallel shards, augmented
/// (data.square_edge, data.extended_scale, data.orientation_invariant, data.rescale_images) and encoded into CIF/CAF targets by the loader.
/// </summary>
public sealed class BottomupTrainingData : IDisposable
{
    private readonly BottomupDataLoader _loader;
    private readonly int _count;
    private readonly long _seed;
    private readonly DistributedContext _dist;
    private readonly int _batchSize;

    private BottomupTrainingData(BottomupDataLoader loader, int count, long seed, DistributedContext dist, BottomupAugmentation augmentation, int batchSize)
    {
        _batchSize = batchSize;
        _loader = loader;
        _count = count;
        _seed = seed;
        _dist = dist;
        Augmentation = augmentation;
    }

    public BottomupAugmentation Augmentation { get; }

    /// <summary>Training images over all sources.</summary>
    public int Count => _count;

    public int SamplesPerEpoch => (_count + _dist.WorldSize - 1) / _dist.WorldSize;

    public int BatchesPerEpoch => _loader.BatchCount(SamplesPerEpoch);

    public static BottomupTrainingData Create(ExperimentOptions o, BottomupPoseEstimator model, KeypointSet set, DistributedContext dist, ILogger log)
    {
        var samples = new List<BottomupSample>();
        for (int i = 0; i < o.Data.Sources.Count; i++)
        {
            var s = o.Data.Sources[i];
            if (s.Ratio == 0) continue;
            if (s.Ratio != 1)
                throw new TrainingException($"data.sources.{i}.ratio: bottom-up training takes every image of a source once per epoch; " +
                    $"use 1 (or 0 for a validation-only source), not {s.Ratio}");
            var data = SourceData.Load(s, train: true, val: false);
            if (data.KeypointSet.Name != set.Name)
                throw new TrainingException($"data.sources.{i}.keypoint_set: source '{s.Name}' is annotated in {data.KeypointSet.Name}, " +
                    $"the model predicts {set.Name}");
            var truth = CocoKeypointGroundTruth.Load(Path.GetFullPath(s.AnnFile));
            var images = BottomupSample.FromCoco((CocoKeypointDataset)data.Train!, truth, withPersonsOnly: true);
            log.LogInformation("data {Source}: {Images} training images with {People} annotated people", s.Name, images.Count,
                truth.Annotations.Count(a => !a.IsCrowd && a.NumKeypoints > 0));
            samples.AddRange(images);
        }
        if (samples.Count == 0) throw new TrainingException("data.sources: no source has a training image with a labelled person");

        var augmentation = new BottomupAugmentation
        {
            SquareEdge = o.Data.SquareEdge ?? o.Model.InputSize.Max(),
            ScaleRange = Rescaled(BottomupAugmentation.DefaultScaleRange(o.Data.ExtendedScale ?? false), o.Data.RescaleImages ?? 1),
            OrientationInvariant = o.Data.OrientationInvariant ?? 0,
            HFlipProb = o.Data.Hflip ?? new BottomupAugmentation().HFlipProb,
            Enabled = o.Data.Augmentation ?? true,
        };
        augmentation.EnsureValid();
        var pipeline = new BottomupPipeline(model.Meta, model.Stride, model.Mean, model.Std);
        var loader = new BottomupDataLoader(samples, pipeline, _ => augmentation, (ulong)o.Seed,
            new DataLoaderOptions { BatchSize = o.Data.BatchSize, Workers = Math.Max(1, o.Data.NumWorkers), PrefetchBatches = o.Data.Prefetch, DropLast = true });
        var result = new BottomupTrainingData(loader, samples.Count, o.Seed, dist, augmentation, o.Data.BatchSize);
        if (result.BatchesPerEpoch == 0)
        {
            loader.Dispose();
            throw new TrainingException($"data.batch_size: {o.Data.BatchSize} is more than the {result.SamplesPerEpoch} training images " +
                "each worker gets per epoch, so no full batch is left");
        }
        return result;
    }

    private static (double Low, double High) Rescaled((double Low, double High) range, double factor) => (range.Low * factor, range.High * factor);

    /// <summary>The batches of an epoch, skipping the first <paramref name="skipBatches"/> (resume inside an epoch).</summary>
    public IEnumerable<LoadedBatch<BottomupBatch>> Epoch(int epoch, int skipBatches, CancellationToken ct)
    {
        // The seed and the epoch alone decide the order (Fisher-Yates on a stream of its own: the per-image streams of
        // the augmentation have indices >= 0), which is then cut into per-worker shards.
        var order = Enumerable.Range(0, _count).ToArray();
        var random = new Pose.Transforms.SampleRandom((ulong)_seed, epoch, -1);
        for (int i = order.Length - 1; i > 0; i--)
        {
            int j = random.NextInt(0, i);
            (order[i], order[j]) = (order[j], order[i]);
        }
        order = _dist.Shard(order);
        int skip = Math.Min(order.Length, skipBatches * _batchSize);
        return _loader.Epoch(epoch, order[skip..], ct);
    }

    public void Dispose() => _loader.Dispose();
}
