using Distill.Pose.Models.Checkpoints;
using System.Security.Cryptography;
using System.Text;
using Distill.Config;
using Distill.Pose.Keypoints;
using Distill.Pose.Models;
using Distill.Torch;
using Distill.Torch.Optim;
using Distill.Training.Checkpoints;
using Distill.Training.Config.Schema;
using Distill.Training.Distillation;
using Distill.Training.Distributed;
using Distill.Training.Logging;
using Distill.Training.Models;
using Distill.Training.Teachers;
using Microsoft.Extensions.Logging;

namespace Distill.Training.Engine;

/// <summary>
/// The composition root of a run: maps the experiment's options, once, onto the objects the loop works with (device,
/// run directory, the model family's task with its student, EMA and data, optimizer and schedule, logger, checkpoints) and plain
/// settings. Nothing after it reads a config.
/// </summary>
public sealed class TrainingSetup : IDisposable
{
    public required Device Device { get; init; }
    public required RunDirectory Run { get; init; }
    /// <summary>What the model family brings to the loop: student, EMA copy, batches, loss terms and validation.</summary>
    public required ITrainingTask Task { get; init; }
    public Distill.Torch.Nn.Module Student => Task.Student;
    public Distill.Torch.Nn.Module? EmaModel => Task.EmaModel;
    public KeypointSet KeypointSet => Task.KeypointSet;
    public ExpMomentumEma? Ema { get; init; }
    public required Optimizer Optimizer { get; init; }
    public required ScheduleChain Schedule { get; init; }
    public required RunLogger Logger { get; init; }
    public required RunCheckpoints Checkpoints { get; init; }
    public required TrainerSettings Settings { get; init; }
    public required string ConfigHash { get; init; }
    /// <summary>The resolved config tree as config.yaml records it (a resume compares it with the checkpoint's).</summary>
    public required ConfigMapping ResolvedConfig { get; init; }
    /// <summary>The fixed part of summary.json (what ran); the loop adds how it went.</summary>
    public required IReadOnlyDictionary<string, object?> Description { get; init; }
    /// <summary>Builds the self-distillation optimizer and schedule over the given parameters.</summary>
    public required Func<IEnumerable<Tensor>, (Optimizer, ScheduleChain)> SelfDistillOptimizer { get; init; }
    /// <summary>The data-parallel group this process trains in (<see cref="DistributedContext.Single"/> when alone).</summary>
    public DistributedContext Dist { get; init; } = DistributedContext.Single;
    /// <summary>Averages the main stage's gradients over the workers during backward; null when training alone.</summary>
    public Torch.Distributed.Reducer? Reducer { get; init; }
    /// <summary>Makes a reducer over other parameters (self-distillation's); null when training alone.</summary>
    public Func<IEnumerable<Tensor>, Torch.Distributed.Reducer>? NewReducer { get; init; }

    /// <param name="dist">The data-parallel group to train in; null trains alone. The caller keeps ownership.</param>
    public static TrainingSetup Create(ExperimentOptions o, ConfigMapping resolved, TrainingRequest request, ILogger log, DistributedContext? dist = null)
    {
        dist ??= DistributedContext.Single;
        var device = Device.Parse(o.Device);
        if (device.Type == DeviceType.Cuda && !torch.CudaIsAvailable)
            throw new TrainingException($"device: '{o.Device}' requested but this libtorch has no usable CUDA device");
        if (o.Train.Precision == Precision.Fp16 && device.Type != DeviceType.Cuda)
            throw new TrainingException("train.precision: fp16 needs a CUDA device (libtorch autocasts the CPU to bf16 only); use bf16 or fp32");
        // Workers on one machine share its cores.
        torch.NumThreads = o.Threads > 0 ? o.Threads : Math.Max(1, Environment.ProcessorCount / dist.LocalWorldSize);
        Reproducibility.Apply(o);

        var workDir = Path.GetFullPath(request.WorkDir ?? o.WorkDir ?? Path.Combine("experiments", o.Name ?? "run"));
        // Rank 0 alone writes the run directory (config, logs, checkpoints); the other workers only read from it.
        var run = request.LockedRun ?? (dist.IsMain ? RunDirectory.Open(workDir) : RunDirectory.Unlocked(workDir));
        var disposables = new List<IDisposable> { run };
        try
        {
            var yaml = ConfigLoader.ToYaml(resolved);
            var configHash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(yaml)))[..16];
            if (dist.IsMain) File.WriteAllText(Path.Combine(workDir, "config.yaml"), yaml);

            var settings = SettingsOf(o);
            // Every random initialisation of the task draws from the seeded generator in its own fixed order.
            ITrainingTask task = o.Model.Type == Pose.Models.Options.ModelType.BottomupPoseEstimator
                ? BottomupTask.Create(o, settings, device, dist, log)
                : TopdownTask.Create(o, settings, device, dist, log);
            disposables.Add(task);
            if (dist.IsDistributed)
                log.LogInformation("data-parallel: {World} workers x batch {Batch} = global batch {Global}; {Samples} samples per worker per epoch",
                    dist.WorldSize, o.Data.BatchSize, dist.WorldSize * o.Data.BatchSize, task.SamplesPerEpoch);

            long perEpoch = OptimizerFactory.StepsPerEpoch(o.Optimizer, task.BatchesPerEpoch);
            var optimizer = OptimizerFactory.Create(o.Optimizer, task.Student.Parameters().Concat(task.Adapters.SelectMany(a => a.Module.Parameters())),
                BackboneParameters(task.Student));
            disposables.Add(optimizer);
            if (o.Train.Dist.BaseBatchSize is { } baseBatch) ScaleLr(optimizer, dist.WorldSize * o.Data.BatchSize, baseBatch, log);
            var schedule = OptimizerFactory.MainSchedule(optimizer, o.Schedule, perEpoch, o.Train.MaxEpochs);
            var logger = dist.IsMain
                ? new RunLogger(workDir, new RunLogSettings
                {
                    Tensorboard = o.Logging.Tensorboard,
                    Images = o.Logging.LogImages,
                    Histograms = o.Logging.Histograms,
                }, log)
                : RunLogger.Disabled(log);
            disposables.Add(logger);

            Torch.Distributed.Reducer? reducer = null;
            Func<IEnumerable<Tensor>, Torch.Distributed.Reducer>? newReducer = null;
            if (dist.Group is { } group)
            {
                newReducer = parameters => new Torch.Distributed.Reducer(group, parameters.Where(p => p.RequiresGrad).ToList(),
                    findUnusedParameters: o.Train.Dist.FindUnusedParameters);
                var unreached = new HashSet<Tensor>(task.UnreachedParameters, ReferenceEqualityComparer.Instance);
                reducer = newReducer(optimizer.ParamGroups.SelectMany(g => g.Params).Where(p => !unreached.Contains(p)));
                disposables.Add(reducer);
            }

            var metadata = new Dictionary<string, string>(task.CheckpointMetadata)
            {
                ["config_hash"] = configHash,
                ["config"] = yaml,
            };
            return new TrainingSetup
            {
                Device = device,
                Run = run,
                Task = task,
                Ema = task.EmaModel is null ? null : new ExpMomentumEma(o.Ema.Momentum, o.Ema.Gamma) { UpdateBuffers = o.Ema.UpdateBuffers },
                Optimizer = optimizer,
                Schedule = schedule,
                Logger = logger,
                Checkpoints = new RunCheckpoints(workDir, new CheckpointSettings
                {
                    Interval = o.Checkpoint.Interval,
                    KeepLast = o.Checkpoint.KeepLast,
                    SaveBest = o.Checkpoint.SaveBest,
                    SaveOptimizer = o.Checkpoint.SaveOptimizer,
                }, metadata, writes: dist.IsMain),
                Settings = settings,
                ConfigHash = configHash,
                ResolvedConfig = resolved,
                Description = Describe(o, request, task.KeypointSet),
                Dist = dist,
                Reducer = reducer,
                NewReducer = newReducer,
                SelfDistillOptimizer = parameters =>
                {
                    var opt = OptimizerFactory.Create(o.Optimizer, parameters, BackboneParameters(task.Student));
                    if (o.Train.Dist.BaseBatchSize is { } b) ScaleLr(opt, dist.WorldSize * o.Data.BatchSize, b, log);
                    return (opt, OptimizerFactory.PhaseSchedule(opt, o.Schedule, perEpoch, o.Train.SelfDistill.Epochs));
                },
            };
        }
        catch
        {
            for (int i = disposables.Count - 1; i >= 0; i--) disposables[i].Dispose();
            throw;
        }
    }

    /// <summary>The distillation part of an experiment (losses, and the length the KD weight schedules span).</summary>
    public static DistillationSettings DistillationSettingsOf(ExperimentOptions o) => new()
    {
        LogitWeight = o.Losses.LogitKd.Weight,
        LogitSchedule = o.Losses.LogitKd.Schedule,
        Beta = o.Losses.LogitKd.EffectiveBeta,
        Reduction = o.Losses.LogitKd.Reduction,
        MaskUnknown = o.Losses.LogitKd.MaskUnknown,
        FeatureWeight = o.Losses.FeatureKd.Weight,
        FeatureSchedule = o.Losses.FeatureKd.Schedule,
        ScheduleEpochs = o.Train.MaxEpochs,
        SelfLogitWeight = o.Train.SelfDistill.LogitWeight,
    };

    private static TrainerSettings SettingsOf(ExperimentOptions o) => new()
    {
        Autocast = o.Train.Precision switch { Precision.Bf16 => DType.BFloat16, Precision.Fp16 => DType.Float16, _ => null },
        MaxEpochs = o.Train.MaxEpochs,
        ValInterval = o.Train.ValInterval,
        LogInterval = o.Train.LogInterval,
        AccumulateSteps = Math.Max(1, o.Optimizer.AccumulateSteps),
        ClipMaxNorm = o.Optimizer.ClipGrad?.MaxNorm,
        ClipValue = o.Optimizer.ClipGradValue,
        ClipNormType = o.Optimizer.ClipGrad?.NormType ?? 2.0,
        SelfDistillEpochs = o.Train.SelfDistill.Enabled ? o.Train.SelfDistill.Epochs : 0,
        HistogramInterval = o.Logging.HistogramInterval ?? o.Train.ValInterval,
        BestMetric = o.Evaluation.BestMetric,
        GreaterIsBetter = o.Evaluation.Rule == CompareRule.Greater,
        FlipTest = o.Evaluation.FlipTest ?? o.Model.TestCfg.FlipTest,
        Metrics = o.Evaluation.Metrics,
        ValBatchSize = o.Data.ValBatchSize,
        ValWorkers = o.Data.NumWorkers,
    };

    private static Dictionary<string, object?> Describe(ExperimentOptions o, TrainingRequest request, KeypointSet set)
    {
        var b = o.Model.Backbone;
        return new Dictionary<string, object?>
        {
            ["name"] = o.Name,
            ["config"] = request.ConfigPath,
            ["student"] = $"{b.Type}({(b.Type == Pose.Models.Options.BackboneType.CSPNeXt ? $"d{b.DeepenFactor} w{b.WidenFactor}" : b.Arch ?? "custom")}) + {o.Model.Head.Type} " +
                $"{set.Name} {o.Model.InputSize[0]}x{o.Model.InputSize[1]}",
            ["teachers"] = o.Teachers.Select(t => t.Name).ToList(),
        };
    }

    /// <summary>mmengine's auto_scale_lr: every learning rate times (global batch / base batch), once, before the schedule takes it as its base.</summary>
    private static void ScaleLr(Optimizer optimizer, int globalBatch, int baseBatch, ILogger log)
    {
        double factor = (double)globalBatch / baseBatch;
        foreach (var g in optimizer.ParamGroups)
        {
            g.Lr *= factor;
            g.InitialLr = g.Lr;
        }
        log.LogInformation("learning rate scaled by {Factor:G4} (global batch {Global} / train.dist.base_batch_size {Base}): lr {Lr:G4}",
            factor, globalBatch, baseBatch, optimizer.ParamGroups[0].Lr);
    }

    /// <summary>The student's <c>backbone.*</c> parameters, which optimizer.backbone_lr_mult scales.</summary>
    private static IEnumerable<Tensor> BackboneParameters(Distill.Torch.Nn.Module student) =>
        student.NamedParameters().Where(p => p.Name.StartsWith("backbone.", StringComparison.Ordinal)).Select(p => p.Parameter);

    internal static void LoadInitialWeights(Distill.Torch.Nn.Module student, Pose.Models.Options.ModelOptions m, ILogger log)
    {
        if (m.InitCheckpoint is { } init)
        {
            var loaded = WeightsLoader.LoadInto(student, Path.GetFullPath(init));
            log.LogInformation("initialised from {Checkpoint}", init);
            if (loaded.Mapped) log.LogInformation("{Report}", loaded);
        }
        if (m.BackboneCheckpoint is { } bb)
        {
            // Backbone-only init from our checkpoints, mmpose .pth, original ViTPose or Hugging Face ViT files.
            var report = Pose.Models.Checkpoints.PretrainedLoader.LoadBackbone(student, Path.GetFullPath(bb));
            log.LogInformation("backbone initialised from {Checkpoint}:\n{Report}", bb, report);
        }
    }

    /// <summary>
    /// Every worker starts from rank 0's weights and buffers (as DDP does), whatever its own initialisation drew; with
    /// model.sync_bn the BatchNorm layers then take their statistics over all workers.
    /// </summary>
    internal static void ShareAndSync(Distill.Torch.Nn.Module student, Pose.Models.Options.ModelOptions m, DistributedContext dist, ILogger log)
    {
        dist.BroadcastStates(student.StateDict().Select(kv => kv.Value));
        if (!m.SyncBn || dist.Group is not { } bnGroup) return;
        int synced = 0;
        foreach (var (_, module) in student.NamedModules())
            if (module is Torch.Nn.BatchNorm2d bn)
            {
                bn.SyncGroup = bnGroup;
                synced++;
            }
        log.LogInformation("model.sync_bn: {Count} BatchNorm layers take their statistics over all {World} workers", synced, dist.WorldSize);
    }

    /// <summary>The EMA copy starts as the student (frozen, same device and layout).</summary>
    internal static void StartEma(Distill.Torch.Nn.Module ema, Distill.Torch.Nn.Module student, Device device, bool channelsLast)
    {
        ema.To(device);
        ema.RequiresGrad_(false);
        if (channelsLast) ema.ToChannelsLast();
        ema.LoadStateDict(student.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value));
    }

    public void Dispose()
    {
        Reducer?.Dispose();
        Logger.Dispose();
        Optimizer.Dispose();
        Task.Dispose();
        Run.Dispose();
    }
}
