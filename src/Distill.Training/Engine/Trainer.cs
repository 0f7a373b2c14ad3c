using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Distill.Pose.Codecs;
using Distill.Pose.Data;
using Distill.Pose.Drawing;
using Distill.Pose.Keypoints;
using Distill.Pose.Losses;
using Distill.Pose.Models;
using Distill.Torch;
using Distill.Torch.Nn;
using Distill.Torch.Optim;
using Distill.Torch.Serialization;
using Distill.Torch.Vision;
using Distill.Training.Checkpoints;
using Distill.Training.Config;
using Distill.Training.Config.Schema;
using Distill.Training.Distillation;
using Distill.Training.Evaluation;
using Distill.Training.Logging;
using Distill.Training.Models;
using Distill.Training.Teachers;
using Microsoft.Extensions.Logging;
using Distill.Config;
using Distill.Pose.Models.Options;

namespace Distill.Training.Engine;

/// <summary>
/// Supervised training and multi-teacher distillation with one loop. Teachers are optional; every loss term is
/// logged under its own name and the total is their weighted sum, each counted once. With train.two_stage the same
/// loop then runs DWPose's head-only self-distillation; both stages stop, checkpoint and resume alike.
/// </summary>
public sealed class Trainer : IDisposable
{
    /// <summary>Name of the stage-2 self-teacher among a checkpoint's distillation modules (its tensors are kd.self_teacher.*).</summary>
    public const string SelfTeacherName = TeacherOptions.ReservedName;

    /// <summary>Checkpoint metadata key holding the stage ("1" or "2") the checkpoint was written in.</summary>
    public const string StageKey = "distill.stage";

    /// <summary>The main run's rolling checkpoint; after a two-stage run it still holds the end of stage 1.</summary>
    public const string LastCheckpointFile = "last.safetensors";

    /// <summary>Stage 2's rolling checkpoint, and its result once it has finished.</summary>
    public const string StageTwoCheckpointFile = "stage2.safetensors";

    /// <summary>Called after every training step with (stage, 0-based epoch, batches done in that epoch), before a stop request is honoured.</summary>
    internal Action<int, int, int>? AfterStep { get; set; }

    /// <summary>The networks in use now, by role: the student, its EMA, the feature-KD adapters (kd.NAME) and, in stage 2, the self-teacher.</summary>
    internal IEnumerable<(string Role, Module Network)> Networks
    {
        get
        {
            yield return ("student", _model);
            if (_emaModel is not null) yield return ("ema", _emaModel);
            foreach (var (name, fk) in _featureKd) yield return ($"kd.{name}", fk);
            if (_stage?.SelfTeacher is { } self) yield return (SelfTeacherName, self);
        }
    }

    private readonly ExperimentOptions _o;
    private readonly ConfigMapping _resolved;
    private readonly TrainingRequest _request;
    private readonly ILogger _log;
    private readonly Device _device;
    private readonly TopdownPoseEstimator _model;
    /// <summary>Whether the student (with its EMA, self-teacher, feature-KD adapters and input batches) is channels-last.</summary>
    private readonly bool _channelsLast;
    private readonly KeypointSet _set;
    private readonly TopdownPoseEstimator? _emaModel;
    private readonly ExpMomentumEma? _ema;
    private readonly List<TeacherModel> _teachers = new();
    private readonly Dictionary<string, FeatureKDLoss> _featureKd = new(StringComparer.Ordinal);
    private readonly LogitKDLoss _logitKd;
    private readonly List<SourceData> _sources;
    private readonly TrainingData _data;
    private Optimizer _optimizer;
    private ScheduleChain _schedule;
    private readonly RunDirectory _run;
    private readonly SummaryWriter? _tb;
    private readonly MetricsLog _metrics;
    private readonly string _configHash;
    /// <summary>The stage whose epochs are running (null outside <see cref="Run"/>).</summary>
    private TrainingStage? _stage;

    // Counters of one Run call, shared by both stages.
    private Stopwatch _runWatch = new();
    private double _wallBefore;
    private long _images;
    private Dictionary<string, double> _lastMetrics = new();
    private string? _best;

    private int RunEndEpoch => _o.Train.MaxEpochs + (_o.Train.TwoStage.Enabled ? _o.Train.TwoStage.Epochs : 0);

    public string WorkDir => _run.Path;

    public Trainer(ExperimentOptions o, ConfigMapping resolved, TrainingRequest request, ILogger log)
    {
        _o = o;
        _resolved = resolved;
        _request = request;
        _log = log;
        _device = Device.Parse(o.Device);
        if (_device.Type == DeviceType.Cuda && !torch.CudaIsAvailable)
            throw new TrainingException($"device: '{o.Device}' requested but this libtorch has no usable CUDA device");
        torch.NumThreads = o.Threads > 0 ? o.Threads : Environment.ProcessorCount;
        torch.ManualSeed((ulong)o.Seed);

        var workDir = Path.GetFullPath(request.WorkDir ?? o.WorkDir ?? Path.Combine("experiments", o.Name ?? "run"));
        _run = RunDirectory.Open(workDir);
        var yaml = ConfigLoader.ToYaml(resolved);
        _configHash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(yaml)))[..16];
        File.WriteAllText(Path.Combine(workDir, "config.yaml"), yaml);

        (_model, _set) = ModelFactory.Build(o.Model, o.Losses.Gt);
        _model.To(_device);
        LoadInitialWeights();
        // After the weights are in and before the optimizer and the EMA take hold of the parameters; the layout change
        // keeps every parameter object, so nothing else needs to know.
        _channelsLast = ChannelsLast.AppliesTo(o.Model, _model);
        if (_channelsLast) _model.ToChannelsLast();
        _log.LogInformation("model {Name}: {Keypoints} keypoints, input {W}x{H}, {Layout}\n{Summary}", o.Name, _set.Count, o.Model.InputSize[0],
            o.Model.InputSize[1], _channelsLast ? "channels-last" : "default layout", ModelSummary.Of(_model));

        if (o.Ema.Enabled)
        {
            (_emaModel, _) = ModelFactory.Build(o.Model, o.Losses.Gt);
            _emaModel.To(_device);
            _emaModel.RequiresGrad_(false);
            if (_channelsLast) _emaModel.ToChannelsLast();
            _emaModel.LoadStateDict(_model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value));
            _ema = new ExpMomentumEma(o.Ema.Momentum, o.Ema.Gamma);
        }

        var registry = TeacherRegistry.Load(Path.Combine(request.RepoRoot, "teachers"));
        foreach (var t in o.Teachers)
        {
            var teacher = TeacherModel.Load(t, registry, request.RepoRoot, _set, _device);
            _teachers.Add(teacher);
            _log.LogInformation("teacher {Name}: {Set} at {W}x{H}, {Params:N0} parameters", t.Name, teacher.KeypointSet.Name,
                teacher.InputSize.Width, teacher.InputSize.Height, teacher.Model.NumParameters());
            if (o.Losses.FeatureKd.Weight > 0 && t.FeatureWeight > 0)
            {
                if (teacher.Model.Backbone.OutStrides[^1] != _model.Backbone.OutStrides[^1])
                    throw new TrainingException($"teachers.{t.Name}: feature KD needs equal strides after resampling (teacher {teacher.Model.Backbone.OutStrides[^1]}, student {_model.Backbone.OutStrides[^1]})");
                var fk = new FeatureKDLoss(_model.Backbone.OutChannels[^1], teacher.Model.Backbone.OutChannels[^1], 1.0);
                fk.To(_device);
                // Its 1x1 alignment conv runs on the student's (then channels-last) features.
                if (_channelsLast) fk.ToChannelsLast();
                _featureKd[t.Name] = fk;
            }
        }
        if (_teachers.Count > 0 && _model.Codec is not SimCCLabel)
            throw new TrainingException("teachers: logit distillation needs a SimCC student (model.head.type RTMCCHead)");
        if (o.Train.TwoStage.Enabled && _model.Codec is not SimCCLabel)
            throw new TrainingException("train.two_stage: self-distillation needs a SimCC student (model.head.type RTMCCHead)");
        _logitKd = new LogitKDLoss(o.Losses.LogitKd.EffectiveBeta, o.Losses.LogitKd.Reduction);

        _sources = o.Data.Sources.Select(s => SourceData.Load(s, train: true, val: true)).ToList();
        foreach (var s in _sources)
            _log.LogInformation("data {Source}: {Train} training instances, {Val} validation instances ({Report})", s.Name,
                s.Train?.Count ?? 0, s.Val?.Count ?? 0, s.Train?.Report.ToString() ?? "");
        _data = new TrainingData(o, _sources, _set, _model.Codec, _teachers.Select(t => t.InputSize).ToList());

        (_optimizer, _schedule) = BuildOptimizer(_model.Parameters().Concat(_featureKd.Values.SelectMany(f => f.Parameters())), _model);
        _tb = o.Logging.Tensorboard ? new SummaryWriter(Path.Combine(workDir, "tensorboard")) : null;
        if (o.Logging.Histograms && _tb is null)
            _log.LogWarning("logging.histograms is on but logging.tensorboard is off; histograms are only written to TensorBoard, so none will be");
        _metrics = new MetricsLog(workDir);
    }

    private void LoadInitialWeights()
    {
        if (_o.Model.InitCheckpoint is { } init)
        {
            WeightsLoader.LoadInto(_model, Path.GetFullPath(init));
            _log.LogInformation("initialised from {Checkpoint}", init);
        }
        if (_o.Model.BackboneCheckpoint is { } bb)
        {
            // Backbone-only init from our checkpoints, mmpose .pth, original ViTPose or Hugging Face ViT files.
            var report = Distill.Pose.Models.Checkpoints.PretrainedLoader.LoadBackbone(_model, Path.GetFullPath(bb));
            _log.LogInformation("backbone initialised from {Checkpoint}:\n{Report}", bb, report);
        }
    }

    /// <summary>AdamW/Adam/SGD with no weight decay on norm weights and biases (1-D parameters), and the LR schedule.</summary>
    private (Optimizer, ScheduleChain) BuildOptimizer(IEnumerable<Tensor> parameters, Module owner, int? epochs = null)
    {
        var all = parameters.Where(p => p.RequiresGrad).ToList();
        var decay = all.Where(p => p.Dim > 1).ToList();
        var noDecay = all.Where(p => p.Dim <= 1).ToList();
        var oo = _o.Optimizer;
        var groups = new List<ParamGroup>();
        if (decay.Count > 0) groups.Add(new ParamGroup(decay) { WeightDecay = oo.WeightDecay });
        if (noDecay.Count > 0) groups.Add(new ParamGroup(noDecay) { WeightDecay = oo.WeightDecay * Math.Max(oo.NormDecayMult, oo.BiasDecayMult) });
        Optimizer opt = oo.Type switch
        {
            OptimizerType.AdamW => new AdamW(groups, oo.Lr, oo.Betas[0], oo.Betas[1], oo.Eps, oo.WeightDecay),
            OptimizerType.Adam => new Adam(groups, oo.Lr, oo.Betas[0], oo.Betas[1], oo.Eps, oo.WeightDecay),
            _ => new SGD(groups, oo.Lr, oo.Momentum, 0, oo.WeightDecay, oo.Nesterov),
        };
        long perEpoch = Math.Max(1, _data.BatchesPerEpoch / Math.Max(1, oo.AccumulateSteps));
        long total = perEpoch * (epochs ?? _o.Train.MaxEpochs);
        var s = _o.Schedule;
        var segments = new List<LrSchedule>();
        if (epochs is not null)
        {
            // A later stage gets a plain cosine over its own length.
            segments.Add(new CosineAnnealing(0, total, etaMinRatio: s.EtaMinRatio, byEpoch: false));
            return (opt, new ScheduleChain(opt, segments, perEpoch));
        }
        if (s.WarmupIters > 0) segments.Add(new LinearWarmup(Math.Max(s.WarmupRatio, 1e-12), Math.Min(s.WarmupIters, total) + 1));
        switch (s.Type)
        {
            case LrScheduleType.Cosine:
                segments.Add(new CosineAnnealing(0, total, etaMinRatio: s.EtaMinRatio, byEpoch: false));
                break;
            case LrScheduleType.FlatCosine:
                long begin = (s.CosineBeginEpoch ?? _o.Train.MaxEpochs / 2) * perEpoch;
                segments.Add(new CosineAnnealing(begin, total, etaMinRatio: s.EtaMinRatio, byEpoch: false));
                break;
            case LrScheduleType.MultiStep:
                segments.Add(new MultiStep(s.Milestones.Select(m => s.ByEpoch ? m * perEpoch : m), s.Gamma, byEpoch: false));
                break;
        }
        return (opt, new ScheduleChain(opt, segments, perEpoch));
    }

    /// <summary>KD weight multiplier for an epoch: constant, linear decay (1 - epoch / max) or cosine.</summary>
    public static double WeightScheduleFactor(WeightSchedule schedule, int epoch, int maxEpochs) => schedule switch
    {
        WeightSchedule.Linear => 1.0 - (double)epoch / maxEpochs,
        WeightSchedule.Cosine => 0.5 * (1 + Math.Cos(Math.PI * epoch / maxEpochs)),
        _ => 1.0,
    };

    public TrainingResult Run(CancellationToken ct)
    {
        _runWatch = Stopwatch.StartNew();
        var state = new TrainingState { ConfigHash = _configHash };
        TrainingStage? second = null;
        try
        {
            if (_request.Resume is { } resume) (state, second) = Resume(resume);
            _wallBefore = state.WallSeconds;
            var bestPath = Path.Combine(WorkDir, "best.safetensors");
            _best = File.Exists(bestPath) ? bestPath : null;

            var current = new TrainingStage
            {
                Number = 1,
                FirstEpoch = 0,
                EndEpoch = _o.Train.MaxEpochs,
                Optimizer = _optimizer,
                Schedule = _schedule,
                EvalModel = _emaModel ?? _model,
                LastPath = Path.Combine(WorkDir, LastCheckpointFile),
                StepPrefix = "train/",
                EpochPrefix = "epoch/",
                ValPrefix = "val/",
            };
            bool completed = true;
            if (second is null)
            {
                completed = RunEpochs(current, ref state, ct);
                // A stop requested during stage 1's last validation ends the run here; last.safetensors starts stage 2 on resume.
                if (completed && _o.Train.TwoStage.Enabled)
                {
                    if (ct.IsCancellationRequested) completed = false;
                    else second = BeginStageTwo();
                }
            }
            if (completed && second is not null)
            {
                current = second;
                completed = RunEpochs(second, ref state, ct);
            }

            double wall = _wallBefore + _runWatch.Elapsed.TotalSeconds;
            double ips = _images / Math.Max(1e-9, _runWatch.Elapsed.TotalSeconds);
            WriteSummary(state, _lastMetrics, wall, ips);
            return new TrainingResult(WorkDir, completed, state.Epoch, state.Iteration, wall, ips, _lastMetrics, _best, current.LastPath);
        }
        finally
        {
            second?.Dispose();
            _stage = null;
        }
    }

    /// <summary>
    /// Restores the student, distillation modules, optimizer, schedule, EMA and RNG from a checkpoint. A stage-2
    /// checkpoint also brings back the self-teacher and stage 2's own optimizer, which are returned as that stage.
    /// </summary>
    private (TrainingState State, TrainingStage? Second) Resume(string resume)
    {
        var path = ResumePath(resume);
        using var ckpt = CheckpointStore.Load(path);
        int stage = StageOf(ckpt, path);
        TrainingStage? second = null;
        try
        {
            _model.LoadStateDict(ckpt.WithPrefix(WeightsLoader.StudentPrefix), strict: true);
            foreach (var (name, fk) in _featureKd) fk.LoadStateDict(ckpt.WithPrefix($"kd.{name}."), strict: true);
            if (stage == 1)
            {
                if (_emaModel is not null) _emaModel.LoadStateDict(ckpt.WithPrefix(WeightsLoader.EmaPrefix + WeightsLoader.StudentPrefix), strict: true);
                CheckpointStore.RestoreTraining(ckpt, _optimizer, _schedule, _ema);
            }
            else
            {
                if (!_o.Train.TwoStage.Enabled)
                    throw new TrainingException($"--resume: {path} was written in stage 2 of train.two_stage, which this config does not enable");
                var teacher = ckpt.WithPrefix($"kd.{SelfTeacherName}.");
                if (teacher.Count == 0)
                    throw new TrainingException($"--resume: {path} is a stage-2 checkpoint without the self-teacher (no kd.{SelfTeacherName}.* tensors)");
                second = StageTwo(BuildSelfTeacher(teacher, folded: true));
                CheckpointStore.RestoreTraining(ckpt, second.Optimizer, second.Schedule, null);
            }
        }
        catch
        {
            second?.Dispose();
            throw;
        }
        var state = ckpt.State;
        if (state.ConfigHash != _configHash)
            _log.LogWarning("resuming {Path} with a config that differs from the one it was trained with", path);
        _log.LogInformation("resumed from {Path} in stage {Stage} at epoch {Epoch}, batch {Batch}, iteration {Iteration}", path, stage,
            state.Epoch, state.BatchInEpoch, state.Iteration);
        _tb?.AddSessionStart(state.Iteration + 1, path);
        return (state, second);
    }

    /// <summary>An explicit path, or the run directory's newest rolling checkpoint: stage 2's once it has written one.</summary>
    private string ResumePath(string resume)
    {
        if (resume.Length > 0)
        {
            var explicitPath = Path.GetFullPath(resume);
            if (!File.Exists(explicitPath)) throw new TrainingException($"--resume: no checkpoint at {explicitPath}");
            return explicitPath;
        }
        var last = Path.Combine(WorkDir, LastCheckpointFile);
        var second = Path.Combine(WorkDir, StageTwoCheckpointFile);
        // Stage 2 leaves last.safetensors as stage 1 ended it, so the file with more optimizer steps is where the run stands.
        if (File.Exists(second) && (!File.Exists(last) || IterationOf(second) >= IterationOf(last))) return second;
        if (!File.Exists(last)) throw new TrainingException($"--resume: no checkpoint at {last}");
        return last;
    }

    private static long IterationOf(string path)
    {
        var meta = SafeTensors.ReadHeader(path).Metadata;
        if (!meta.TryGetValue(CheckpointStore.StateKey, out var json))
            throw new TrainingException($"--resume: {path} is not a Distill training checkpoint (no '{CheckpointStore.StateKey}' metadata)");
        return JsonSerializer.Deserialize<TrainingState>(json)?.Iteration
            ?? throw new TrainingException($"--resume: {path} has an unreadable training state");
    }

    /// <summary>Checkpoints written before stages were recorded belong to stage 1.</summary>
    private static int StageOf(TrainingCheckpoint ckpt, string path) =>
        !ckpt.Metadata.TryGetValue(StageKey, out var s) ? 1 : s switch
        {
            "1" => 1,
            "2" => 2,
            _ => throw new TrainingException($"--resume: {path} names stage '{s}' in its '{StageKey}' metadata; expected 1 or 2"),
        };

    /// <summary>
    /// DWPose's second stage: the trained student (its EMA when there is one) becomes its own frozen teacher (BN
    /// folded, inference mode) and the student continues from the same weights, with only the head trained, on the
    /// frozen backbone's features, with the GT loss plus logit KD from the teacher's distributions on the same crops.
    /// </summary>
    private TrainingStage BeginStageTwo()
    {
        var source = (_emaModel ?? _model).StateDict().ToDictionary(kv => kv.Key, kv => kv.Value);
        var teacher = BuildSelfTeacher(source, folded: false);
        if (_emaModel is not null) _model.LoadStateDict(source);
        _log.LogInformation("stage 2: head-only self-distillation for {Epochs} epochs (logit KD weight {Weight})",
            _o.Train.TwoStage.Epochs, _o.Train.TwoStage.LogitWeight);
        return StageTwo(teacher);
    }

    private TrainingStage StageTwo(TopdownPoseEstimator teacher)
    {
        var ts = _o.Train.TwoStage;
        _model.Backbone.RequiresGrad_(false);
        var (opt, schedule) = BuildOptimizer(_model.Head.Parameters(), _model, ts.Epochs);
        return new TrainingStage
        {
            Number = 2,
            FirstEpoch = _o.Train.MaxEpochs,
            EndEpoch = _o.Train.MaxEpochs + ts.Epochs,
            Optimizer = opt,
            Schedule = schedule,
            EvalModel = _model,
            LastPath = Path.Combine(WorkDir, StageTwoCheckpointFile),
            StepPrefix = "stage2/",
            EpochPrefix = "stage2/epoch/",
            ValPrefix = "stage2/val/",
            SelfTeacher = teacher,
            OwnsResources = true,
        };
    }

    /// <summary>
    /// The stage-2 teacher: the student's architecture, frozen, in inference mode, BN folded into the convolutions.
    /// <paramref name="folded"/> weights come from a stage-2 checkpoint and are already folded, so the empty copy is
    /// folded first to take their layout.
    /// </summary>
    private TopdownPoseEstimator BuildSelfTeacher(IReadOnlyDictionary<string, Tensor> weights, bool folded)
    {
        var (teacher, _) = ModelFactory.Build(_o.Model, _o.Losses.Gt);
        try
        {
            teacher.To(_device);
            teacher.Eval();
            teacher.RequiresGrad_(false);
            if (folded) teacher.FoldBatchNorm();
            teacher.LoadStateDict(weights, strict: true);
            if (!folded) teacher.FoldBatchNorm();
            // It sees the student's batches, which are channels-last when the student is.
            if (_channelsLast) teacher.ToChannelsLast();
            return teacher;
        }
        catch
        {
            teacher.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Trains the stage's remaining epochs (from the state's epoch and batch on), validating, logging and writing
    /// checkpoints at epoch ends. Returns false when a stop request ended it early; the step in progress finishes
    /// and a checkpoint to resume from is written first.
    /// </summary>
    private bool RunEpochs(TrainingStage stage, ref TrainingState state, CancellationToken ct)
    {
        int accumulate = Math.Max(1, _o.Optimizer.AccumulateSteps);
        int batches = _data.BatchesPerEpoch;
        int runEnd = RunEndEpoch;
        string stageLabel = stage.IsMain ? "" : $"stage {stage.Number} ";
        var progress = new ProgressLine();
        _stage = stage;

        for (int epoch = Math.Max(state.Epoch, stage.FirstEpoch); epoch < stage.EndEpoch; epoch++)
        {
            int batchIndex = epoch == state.Epoch ? state.BatchInEpoch : 0;
            bool histograms = HistogramsDue(stage, epoch);
            var epochWatch = Stopwatch.StartNew();
            var sums = new Dictionary<string, double>(StringComparer.Ordinal);
            int counted = 0;
            double dataWait = 0;
            // The loader is never cancelled mid-batch: a stop request ends the epoch after the current step.
            foreach (var loaded in _data.Epoch(epoch, batchIndex, CancellationToken.None))
            {
                using var batch = loaded.Value;
                dataWait += loaded.DataWait.TotalSeconds;
                var stepWatch = Stopwatch.StartNew();
                Dictionary<string, double> termValues;
                using (var scope = torch.NewDisposeScope())
                {
                    _model.Train();
                    if (!stage.IsMain) _model.Backbone.Eval(); // frozen features: BN statistics stay as stage 1 left them
                    var (terms, outs) = LossTerms(stage, batch, epoch);
                    using (outs)
                    {
                        termValues = terms.ToDictionary(kv => kv.Key, kv => kv.Value.ItemDouble());
                        foreach (var (name, v) in termValues)
                        {
                            if (!double.IsFinite(v))
                            {
                                SaveCheckpoint(stage, Path.Combine(WorkDir, "nan_guard.safetensors"), state with { Epoch = epoch, BatchInEpoch = batchIndex });
                                throw new TrainingException($"{stageLabel}loss term '{name}' became {v} at epoch {epoch}, batch {batchIndex} " +
                                    $"(iteration {state.Iteration}); the model before this step is in nan_guard.safetensors");
                            }
                        }
                        var total = terms.Values.Aggregate((a, b) => a + b);
                        termValues["loss"] = termValues.Values.Sum();
                        (accumulate > 1 ? total / accumulate : total).Backward();
                    }
                }
                batchIndex++;
                if (batchIndex % accumulate == 0)
                {
                    // The epoch's last optimizer step: its gradients (before clipping) go next to the epoch-end weights.
                    if (histograms && batchIndex + accumulate > batches) LogGradientHistograms(state.Iteration + 1);
                    var trained = stage.Optimizer.ParamGroups.SelectMany(g => g.Params);
                    // Logged every step, clipped or not: a spike in it is the first sign of a diverging run.
                    double gradNorm = _o.Optimizer.ClipGrad is { } clip
                        ? Gradients.ClipGradNorm(trained, clip.MaxNorm, clip.NormType)
                        : Gradients.TotalNorm(trained);
                    stage.Optimizer.Step();
                    stage.Optimizer.ZeroGrad();
                    stage.Schedule.Step();
                    if (stage.IsMain && _ema is not null && _emaModel is not null) _ema.Update(_emaModel.StateDict(), _model.StateDict());
                    state = state with { Iteration = state.Iteration + 1 };
                    if (!double.IsNaN(gradNorm)) termValues["grad_norm"] = gradNorm;
                }
                stepWatch.Stop();
                _images += batch.Count;
                foreach (var (k, v) in termValues) sums[k] = sums.GetValueOrDefault(k) + v;
                counted++;
                // Remaining epochs of the run (this one's unfinished part included) at this epoch's pace so far.
                double done = (double)batchIndex / batches;
                var eta = TimeSpan.FromSeconds(Math.Max(0, epochWatch.Elapsed.TotalSeconds / Math.Max(1e-9, done) * (runEnd - epoch - done)));
                double ips = batch.Count / Math.Max(1e-9, stepWatch.Elapsed.TotalSeconds + loaded.DataWait.TotalSeconds);
                progress.Update(epoch + 1, runEnd, batchIndex, batches, eta, ips, termValues);
                if (state.Iteration % _o.Train.LogInterval == 0 || batchIndex == batches)
                {
                    // TensorBoard and metrics.jsonl always; the console line only when no progress bar is drawn.
                    var scalars = termValues.ToDictionary(kv => stage.StepPrefix + kv.Key, kv => kv.Value);
                    scalars[stage.StepPrefix + "lr"] = stage.Optimizer.ParamGroups[0].Lr;
                    scalars[stage.StepPrefix + "img_per_s"] = ips;
                    scalars[stage.StepPrefix + "data_wait_s"] = loaded.DataWait.TotalSeconds;
                    _tb?.AddScalars(scalars, state.Iteration);
                    _metrics.Log(state.Iteration, epoch, scalars);
                    if (!progress.Enabled || batchIndex == batches)
                        _log.LogInformation("{Stage}epoch {Epoch} [{Batch}/{Batches}] {Losses} lr {Lr:G3} {Ips:F1} img/s eta {Eta}",
                            stageLabel, epoch + 1, batchIndex, batches,
                            string.Join(" ", termValues.Select(kv => $"{kv.Key} {kv.Value:F4}")), stage.Optimizer.ParamGroups[0].Lr, ips,
                            eta.ToString(@"hh\:mm\:ss"));
                }
                AfterStep?.Invoke(stage.Number, epoch, batchIndex);
                if (ct.IsCancellationRequested)
                {
                    state = state with { Epoch = epoch, BatchInEpoch = batchIndex, WallSeconds = _wallBefore + _runWatch.Elapsed.TotalSeconds };
                    SaveCheckpoint(stage, stage.LastPath, state);
                    _tb?.Flush();
                    _log.LogInformation("stopped {Where}at epoch {Epoch}, batch {Batch}; {Checkpoint} continues with --resume",
                        stage.IsMain ? "" : $"in stage {stage.Number} ", epoch + 1, batchIndex, Path.GetFileName(stage.LastPath));
                    return false;
                }
            }

            state = state with { Epoch = epoch + 1, BatchInEpoch = 0, WallSeconds = _wallBefore + _runWatch.Elapsed.TotalSeconds };
            var epochMeans = sums.ToDictionary(kv => stage.EpochPrefix + kv.Key, kv => kv.Value / Math.Max(1, counted));
            epochMeans[stage.EpochPrefix + "data_wait_s"] = dataWait;
            epochMeans[stage.EpochPrefix + "img_per_s"] = _images / Math.Max(1e-9, _runWatch.Elapsed.TotalSeconds);
            _metrics.Log(state.Iteration, epoch + 1, epochMeans);
            _tb?.AddScalars(epochMeans, state.Iteration);

            bool lastOfStage = epoch + 1 == stage.EndEpoch;
            int epochsDone = stage.EpochInStage(epoch) + 1;
            if (epochsDone % _o.Train.ValInterval == 0 || lastOfStage)
            {
                _lastMetrics = Validate(stage, state.Iteration, epoch + 1);
                var key = _o.Evaluation.BestMetric;
                // The best checkpoint ranks stage-1 models only; stage 2 reports under stage2/val/ beside it.
                if (stage.IsMain && _lastMetrics.TryGetValue(key, out var value) && double.IsFinite(value) &&
                    (state.BestMetric is null || (_o.Evaluation.Rule == CompareRule.Greater ? value > state.BestMetric : value < state.BestMetric)))
                {
                    state = state with { BestMetric = value, BestEpoch = epoch + 1, BestMetricName = key };
                    if (_o.Checkpoint.SaveBest)
                    {
                        _best = Path.Combine(WorkDir, "best.safetensors");
                        SaveCheckpoint(stage, _best, state);
                        _log.LogInformation("new best {Metric} = {Value:F4} at epoch {Epoch}", key, value, epoch + 1);
                    }
                }
            }
            if (histograms) LogWeightHistograms(state.Iteration);
            SaveCheckpoint(stage, stage.LastPath, state);
            if (epochsDone % _o.Checkpoint.Interval == 0 || lastOfStage)
            {
                SaveCheckpoint(stage, Path.Combine(WorkDir, $"epoch_{epoch + 1}.safetensors"), state);
                PruneCheckpoints();
            }
            _tb?.Flush();
        }
        return true;
    }

    /// <summary>The loss terms of one batch (each already weighted) and the outputs they were computed from.</summary>
    private (Dictionary<string, Tensor> Terms, PoseOutputs Outputs) LossTerms(TrainingStage stage, TopdownBatch batch, int epoch)
    {
        // The step's dispose scope frees both handles.
        var input = ChannelsLast.Input(batch.Input.To(_device), _channelsLast);
        var targets = batch.Tensors.Where(kv => kv.Key != "input").ToDictionary(kv => kv.Key, kv => kv.Value.To(_device));
        var simcc = _model.Codec as SimCCLabel;
        TeacherTargets TargetsOf(int t, (long, long, int)? featShape) => _teachers[t].Targets(batch.TeacherInputs[t].To(_device),
            batch.Samples.Select(s => s.StudentToTeacher[t]).ToList(), simcc!, _logitKd.Beta, featShape);
        // Teachers that need nothing from the student run before its forward, while its activations (kept for backward)
        // do not exist yet: the step's peak memory is then the larger of the two, not their sum.
        var early = new TeacherTargets?[stage.SelfTeacher is null ? _teachers.Count : 0];
        for (int t = 0; t < early.Length; t++)
            if (!_featureKd.ContainsKey(_teachers[t].Name)) early[t] = TargetsOf(t, null);
        var outs = _model.ForwardWithFeatures(input);
        var terms = new Dictionary<string, Tensor>(_model.Loss(outs.Heads, targets), StringComparer.Ordinal);
        if (stage.SelfTeacher is { } self)
        {
            Tensor px, py;
            using (Autograd.InferenceMode())
            {
                var t = self.Forward(input);
                px = _logitKd.TeacherProbabilities(t["simcc_x"]);
                py = _logitKd.TeacherProbabilities(t["simcc_y"]);
            }
            using (Autograd.NoGrad())
            {
                // Inference-mode tensors cannot enter autograd; plain copies can.
                px = px.Clone();
                py = py.Clone();
            }
            terms["loss_kd/self"] = _logitKd.Forward(outs["simcc_x"], outs["simcc_y"], px, py) * _o.Train.TwoStage.LogitWeight;
            return (terms, outs);
        }

        double kdFactor = WeightScheduleFactor(_o.Losses.LogitKd.Schedule, epoch, _o.Train.MaxEpochs);
        double feaFactor = WeightScheduleFactor(_o.Losses.FeatureKd.Schedule, epoch, _o.Train.MaxEpochs);
        for (int t = 0; t < _teachers.Count; t++)
        {
            var teacher = _teachers[t];
            var to = teacher.Options;
            // Feature KD resamples the teacher's features onto the student's feature grid, so those teachers follow it.
            using var tt = early[t] ?? TargetsOf(t, (outs.Features[^1].Size(2), outs.Features[^1].Size(3), _model.Backbone.OutStrides[^1]));
            double w = _o.Losses.LogitKd.Weight * to.Weight * to.LogitWeight * kdFactor;
            if (w > 0)
            {
                // Optionally restrict KD to keypoints this teacher knows (and sees); otherwise all, as DWPose.
                var mask = _o.Losses.LogitKd.MaskUnknown ? tt.Mask : null;
                terms[$"loss_kd/{teacher.Name}"] = _logitKd.Forward(outs["simcc_x"], outs["simcc_y"], tt.ProbX, tt.ProbY, mask) * w;
            }
            if (_featureKd.TryGetValue(teacher.Name, out var fk) && tt.Features is not null)
            {
                double fw = _o.Losses.FeatureKd.Weight * to.Weight * to.FeatureWeight * feaFactor;
                terms[$"loss_fea/{teacher.Name}"] = fk.Forward(outs.Features[^1], tt.Features) * fw;
            }
        }
        return (terms, outs);
    }

    /// <summary>Whether epoch <paramref name="epoch"/> logs histograms: every logging.histogram_interval epochs of the stage (by default at each validation) and at its end.</summary>
    private bool HistogramsDue(TrainingStage stage, int epoch)
    {
        if (_tb is null || !_o.Logging.Histograms) return false;
        int every = _o.Logging.HistogramInterval ?? _o.Train.ValInterval;
        return (stage.EpochInStage(epoch) + 1) % every == 0 || epoch + 1 == stage.EndEpoch;
    }

    /// <summary>weights/NAME for every trainable parameter of the student (frozen ones cannot change, so they are left out).</summary>
    private void LogWeightHistograms(long step)
    {
        foreach (var (name, p) in _model.NamedParameters())
            if (p.RequiresGrad) LogHistogram("weights/" + name, p, step);
    }

    /// <summary>grads/NAME for every trainable parameter of the student that has a gradient now.</summary>
    private void LogGradientHistograms(long step)
    {
        foreach (var (name, p) in _model.NamedParameters())
        {
            if (!p.RequiresGrad) continue;
            using var grad = p.Grad;
            if (grad is not null) LogHistogram("grads/" + name, grad, step);
        }
    }

    private void LogHistogram(string tag, Tensor t, long step)
    {
        float[] values;
        using (Autograd.NoGrad())
        using (var cpu = t.To(DType.Float32, Device.Cpu))
            values = cpu.ToArray<float>();
        try
        {
            _tb!.AddHistogram(tag, values, step);
        }
        catch (ArgumentException e)
        {
            // Non-finite values: training goes on (the loss guard decides about that); the gap is reported.
            _log.LogWarning("histogram {Tag} at iteration {Step} not written: {Message}", tag, step, e.Message);
        }
    }

    /// <summary>Evaluates the stage's model on every validation split and logs the metrics under the stage's prefix.</summary>
    private Dictionary<string, double> Validate(TrainingStage stage, long iteration, int epoch)
    {
        var model = stage.EvalModel;
        bool flip = _o.Evaluation.FlipTest ?? _o.Model.TestCfg.FlipTest;
        var sw = Stopwatch.StartNew();
        var metrics = PoseEvaluator.Evaluate(model, _set, _sources, _device, _o.Data.ValBatchSize, flip, _o.Data.NumWorkers, CancellationToken.None);
        _log.LogInformation("{Stage}validation at epoch {Epoch} ({Seconds:F1} s): {Metrics}", stage.IsMain ? "" : $"stage {stage.Number} ",
            epoch, sw.Elapsed.TotalSeconds, string.Join(", ", metrics.Select(kv => $"{kv.Key} {kv.Value:F4}")));
        var named = metrics.ToDictionary(kv => stage.ValPrefix + kv.Key, kv => kv.Value);
        if (named.Count > 0)
        {
            _metrics.Log(iteration, epoch, named);
            _tb?.AddScalars(named, iteration);
        }
        if (_o.Logging.LogImages && _tb is not null) LogValidationImages(model, stage.ValPrefix, iteration, flip, CancellationToken.None);
        return metrics;
    }

    private void LogValidationImages(TopdownPoseEstimator model, string prefix, long iteration, bool flip, CancellationToken ct)
    {
        foreach (var s in _sources.Where(s => s.Val is not null && s.Val.Count > 0))
        {
            var preds = PoseEvaluator.Predict(model, _set, new SourceData { Options = s.Options, KeypointSet = s.KeypointSet, Val = new TakeFirst(s.Val!, 4) },
                _device, 4, flip, 1, ct);
            var overlays = new List<PoseOverlay>();
            var skeleton = s.KeypointSet.Skeleton.Select(l => (l.From, l.To)).ToList();
            for (int i = 0; i < preds.Instances.Count; i++)
            {
                var inst = preds.Instances[i];
                var img = Image.Read(inst.ImagePath);
                overlays.Add(new PoseOverlay(img,
                [
                    new PoseLayer(inst.Keypoints.Select(v => (double)v).ToArray(), inst.Visibility.Select(v => (double)v).ToArray(), skeleton,
                        PoseDrawing.GroundTruthColour, 3, 2, 0.5),
                    new PoseLayer(preds.Keypoints[i], preds.Scores[i], skeleton, PoseDrawing.PredictionColour, 3, 2, 0.0),
                ]));
            }
            _tb!.AddImage($"{prefix}{s.Name}", PoseDrawing.ContactSheet(overlays, 4), iteration);
        }
    }

    /// <summary>
    /// Writes a checkpoint of <paramref name="stage"/>. Stage 2 leaves out the stage-1 EMA (it no longer changes, and
    /// weight loaders that prefer EMA weights would pick it over the retrained student) and adds its self-teacher.
    /// </summary>
    /// <remarks>
    /// The self-teacher travels inside every stage-2 checkpoint (kd.self_teacher.*, already BN-folded) instead of being
    /// rebuilt from the stage-1 result on resume: no file in the run directory reliably holds that result (periodic
    /// files are pruned by checkpoint.keep_last, last.safetensors is rewritten by a fresh run or a resume from an
    /// earlier stage-1 checkpoint, and --resume may name a checkpoint copied elsewhere), while the student's own
    /// weights cannot give it back because its head has moved. One more model copy per file buys a resume that never
    /// depends on another file.
    /// </remarks>
    private void SaveCheckpoint(TrainingStage stage, string path, TrainingState state)
    {
        var meta = new Dictionary<string, string>
        {
            ["keypoint_set"] = _set.Name,
            ["codec"] = _model.Codec.TypeName,
            ["config_hash"] = _configHash,
            ["config"] = ConfigLoader.ToYaml(_resolved),
            [StageKey] = stage.Number.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        var kd = _featureKd.Select(kv => (kv.Key, (Module)kv.Value)).ToList();
        if (stage.SelfTeacher is { } self) kd.Add((SelfTeacherName, self));
        try
        {
            CheckpointStore.Save(path, _model, stage.IsMain ? _emaModel : null, kd, _o.Checkpoint.SaveOptimizer ? stage.Optimizer : null,
                stage.Schedule, stage.IsMain ? _ema : null, state, meta);
        }
        catch (IOException e)
        {
            throw new TrainingException($"cannot write checkpoint {path} ({e.Message}); is the disk full? The last good checkpoint is kept.", e);
        }
    }

    /// <summary>summary.json: what `distill report` tabulates for this run.</summary>
    private void WriteSummary(TrainingState state, Dictionary<string, double> metrics, double wall, double ips)
    {
        var b = _o.Model.Backbone;
        var summary = new Dictionary<string, object?>
        {
            ["name"] = _o.Name,
            ["config"] = _request.ConfigPath,
            ["student"] = $"{b.Type}({(b.Type == BackboneType.CSPNeXt ? $"d{b.DeepenFactor} w{b.WidenFactor}" : b.Arch ?? "custom")}) + {_o.Model.Head.Type} " +
                $"{_set.Name} {_o.Model.InputSize[0]}x{_o.Model.InputSize[1]}",
            ["teachers"] = _o.Teachers.Select(t => t.Name).ToList(),
            ["epochs"] = state.Epoch,
            ["iterations"] = state.Iteration,
            ["metrics"] = metrics,
            ["img_per_s"] = ips,
            ["wall_s"] = wall,
            ["best_metric"] = state.BestMetricName,
            ["best_value"] = state.BestMetric,
        };
        File.WriteAllText(Path.Combine(WorkDir, "summary.json"),
            System.Text.Json.JsonSerializer.Serialize(summary, new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
    }

    private void PruneCheckpoints()
    {
        if (_o.Checkpoint.KeepLast <= 0) return;
        var periodic = Directory.GetFiles(WorkDir, "epoch_*.safetensors")
            .Select(f => (File: f, Epoch: int.TryParse(Path.GetFileNameWithoutExtension(f)["epoch_".Length..], out var e) ? e : -1))
            .Where(x => x.Epoch >= 0).OrderByDescending(x => x.Epoch).Skip(_o.Checkpoint.KeepLast);
        foreach (var (file, _) in periodic) File.Delete(file);
    }

    public void Dispose()
    {
        _data.Dispose();
        _tb?.Dispose();
        _metrics.Dispose();
        foreach (var t in _teachers) t.Dispose();
        foreach (var f in _featureKd.Values) f.Dispose();
        _optimizer.Dispose();
        _emaModel?.Dispose();
        _model.Dispose();
        _run.Dispose();
    }

    /// <summary>The first n instances of a dataset (for image logging).</summary>
    private sealed class TakeFirst(Distill.Pose.Datasets.PoseDataset inner, int n) : Distill.Pose.Datasets.PoseDataset
    {
        public override string Name => inner.Name;
        public override KeypointSet KeypointSet => inner.KeypointSet;
        public override int Count => Math.Min(n, inner.Count);
        public override IReadOnlyList<Distill.Pose.Datasets.ImageInfo> Images => inner.Images;
        public override Distill.Pose.Datasets.LoadReport Report => inner.Report;
        public override Distill.Pose.Datasets.PoseInstance this[int index] => inner[index];
    }
}
