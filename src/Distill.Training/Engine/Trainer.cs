using Distill.Pose.Models.Checkpoints;
using System.Diagnostics;
using Distill.Config;
using Distill.Pose.Data;
using Distill.Pose.Models;
using Distill.Torch;
using Distill.Torch.Nn;
using Distill.Torch.Optim;
using Distill.Training.Checkpoints;
using Distill.Training.Config.Schema;
using Distill.Training.Distillation;
using Distill.Training.Distributed;
using Distill.Training.Evaluation;
using Distill.Training.Models;
using Microsoft.Extensions.Logging;

namespace Distill.Training.Engine;

/// <summary>
/// Supervised training and multi-teacher distillation with one loop: per batch the model family's
/// <see cref="ITrainingTask"/> (top-down with its <see cref="Distiller"/>, or bottom-up) gives the named loss terms,
/// the loop sums them, steps the optimizer and the EMA, and at epoch ends validates, logs and checkpoints. With train.self_distill the same loop then runs DWPose's head-only self-distillation; both stages
/// stop, checkpoint and resume alike.
/// </summary>
public sealed class Trainer : IDisposable
{
    /// <summary>Called after every training step with (stage, 0-based epoch, batches done in that epoch), before a stop request is honoured.</summary>
    internal Action<int, int, int>? AfterStep { get; set; }

    /// <summary>The networks in use now, by role: the student, its EMA, the feature-KD adapters (kd.NAME) and, during self-distillation, the self-teacher.</summary>
    internal IEnumerable<(string Role, Module Network)> Networks
    {
        get
        {
            yield return ("student", _s.Student);
            if (_s.EmaModel is not null) yield return ("ema", _s.EmaModel);
            foreach (var network in _s.Task.DistillationNetworks) yield return network;
        }
    }

    private readonly TrainingSetup _s;
    private readonly TrainerSettings _cfg;
    private readonly ILogger _log;
    private readonly ITrainingProgress? _progress;
    private readonly string? _resume;
    // Top-down only: the head-only second stage of train.self_distill.
    private readonly SelfDistillation? _selfDistillation;
    // fp16 only: float16 gradients underflow without loss scaling; bf16 has float32's range and needs none.
    private readonly GradScaler? _scaler;

    // Counters of one Run call, shared by both stages.
    private Stopwatch _runWatch = new();
    private double _wallBefore;
    private long _images;
    private Dictionary<string, double> _lastMetrics = new();
    private string? _best;
    // The newest checkpoint this run wrote or resumed from, where a diverged run can go back to.
    private (string Path, TrainingState State)? _lastGood;

    public string WorkDir => _s.Run.Path;

    /// <param name="progress">Receives every step (the CLI draws it); null shows nothing beyond the log.</param>
    /// <param name="dist">The data-parallel group this process is a worker of; null trains alone.</param>
    public Trainer(ExperimentOptions o, ConfigMapping resolved, TrainingRequest request, ILogger log, ITrainingProgress? progress = null,
        DistributedContext? dist = null)
    {
        _s = TrainingSetup.Create(o, resolved, request, log, dist);
        _cfg = _s.Settings;
        _log = log;
        _progress = progress;
        _resume = request.Resume;
        _selfDistillation = _s.Task is TopdownTask topdown ? new SelfDistillation(_s, topdown, log) : null;
        if (_cfg.Autocast == DType.Float16) _scaler = new GradScaler();
    }

    public TrainingResult Run(CancellationToken ct)
    {
        _runWatch = Stopwatch.StartNew();
        var state = new TrainingState { ConfigHash = _s.ConfigHash, WorldSize = _s.Dist.IsDistributed ? _s.Dist.WorldSize : null };
        TrainingStage? second = null;
        try
        {
            if (_resume is { } resume) (state, second) = Resume(resume);
            _wallBefore = state.WallSeconds;
            _best = _s.Checkpoints.ExistingBest;

            var current = MainStage();
            bool completed = true;
            if (second is null)
            {
                completed = RunEpochs(current, ref state, ct);
                // A stop requested during the main run's last validation ends the run here; last.safetensors starts self-distillation on resume.
                if (completed && _cfg.SelfDistillEpochs > 0)
                {
                    if (StopAgreed(ct)) completed = false;
                    else
                    {
                        second = _selfDistillation!.Begin();
                        // The self-teacher comes from each worker's EMA, whose BN statistics are its own: rank 0's for all.
                        BroadcastModels();
                    }
                }
            }
            if (completed && second is not null)
            {
                current = second;
                completed = RunEpochs(second, ref state, ct);
            }

            double wall = _wallBefore + _runWatch.Elapsed.TotalSeconds;
            double ips = GlobalImages() / Math.Max(1e-9, _runWatch.Elapsed.TotalSeconds);
            _s.Logger.Summary(new Dictionary<string, object?>(_s.Description)
            {
                ["epochs"] = state.Epoch,
                ["iterations"] = state.Iteration,
                ["metrics"] = _lastMetrics,
                ["img_per_s"] = ips,
                ["wall_s"] = wall,
                ["best_metric"] = state.BestMetricName,
                ["best_value"] = state.BestMetric,
            });
            return new TrainingResult(WorkDir, completed, state.Epoch, state.Iteration, wall, ips, _lastMetrics, _best, current.LastPath);
        }
        finally
        {
            second?.Dispose();
            (_s.Task as TopdownTask)?.Distiller.EndSelfDistillation();
        }
    }

    private TrainingStage MainStage() => new()
    {
        Number = 1,
        FirstEpoch = 0,
        EndEpoch = _cfg.MaxEpochs,
        Optimizer = _s.Optimizer,
        Schedule = _s.Schedule,
        EvalModel = _s.EmaModel ?? _s.Student,
        LastPath = _s.Checkpoints.PathOf(RunCheckpoints.LastFile),
        TagPrefix = "",
        Reducer = _s.Reducer,
    };

    /// <summary>
    /// Restores the student, distillation modules, optimizer, schedule, EMA and RNG from a checkpoint. A
    /// self-distillation checkpoint also brings back the self-teacher and that stage's own optimizer, returned as the stage.
    /// </summary>
    private (TrainingState State, TrainingStage? Second) Resume(string resume)
    {
        var path = _s.Checkpoints.ResumePath(resume);
        using var ckpt = CheckpointStore.Load(path);
        int stage = RunCheckpoints.StageOf(ckpt, path);
        var changes = ConfigChanges(ckpt, path);
        TrainingStage? second = null;
        try
        {
            _s.Student.LoadStateDict(ckpt.WithPrefix(WeightsLoader.StudentPrefix), strict: true);
            foreach (var (name, fk) in _s.Task.Adapters) fk.LoadStateDict(ckpt.WithPrefix($"kd.{name}."), strict: true);
            if (stage == 1)
            {
                _s.EmaModel?.LoadStateDict(ckpt.WithPrefix(WeightsLoader.EmaPrefix + WeightsLoader.StudentPrefix), strict: true);
                RestoreTraining(ckpt, _s.Optimizer, _s.Schedule, _s.Ema, changes);
            }
            else
            {
                second = _selfDistillation?.Restore(ckpt, path)
                    ?? throw new TrainingException($"--resume: {path} was written during self-distillation, which this model does not have");
                RestoreTraining(ckpt, second.Optimizer, second.Schedule, null, changes);
            }
        }
        catch
        {
            second?.Dispose();
            throw;
        }
        // Every worker read the same file; rank 0's copy is made authoritative all the same, as at the start.
        BroadcastModels();
        var state = ckpt.State with { WorldSize = _s.Dist.IsDistributed ? _s.Dist.WorldSize : null };
        _lastGood = (path, state);
        int savedWorld = ckpt.State.WorldSize ?? 1;
        if (savedWorld != _s.Dist.WorldSize && state.BatchInEpoch > 0)
        {
            // Batches count per worker: continue after as many samples of the epoch as were trained, in the new shards.
            int batch = (int)((long)state.BatchInEpoch * savedWorld / _s.Dist.WorldSize);
            _log.LogWarning("resuming a run of {Saved} workers with {Now}: epoch {Epoch} continues at batch {Batch} instead of {Old}, " +
                "with the epoch's order cut into new shards", savedWorld, _s.Dist.WorldSize, state.Epoch + 1, batch, state.BatchInEpoch);
            state = state with { BatchInEpoch = Math.Min(batch, _s.Task.BatchesPerEpoch) };
        }
        if (changes.Count > 0)
            _log.LogWarning("resuming {Path} with config changes: {Changes}", path, string.Join("; ", changes));
        else if (state.ConfigHash != _s.ConfigHash)
            _log.LogWarning("resuming {Path} with a config that differs from the one it was trained with", path);
        // Epochs count from 1 here as in the stop message, so the two lines name the same place.
        _log.LogInformation("resumed from {Path} {Where}at epoch {Epoch}, batch {Batch}, iteration {Iteration}", path,
            stage == 1 ? "" : "in self-distillation ", state.Epoch + 1, state.BatchInEpoch, state.Iteration);
        _s.Logger.SessionStart(state.Iteration + 1, path);
        return (state, second);
    }

    /// <summary>
    /// How the current config differs from the checkpoint's, when the checkpoint records its config; a change that
    /// cannot be taken over mid-run is refused, and config.yaml goes back to the checkpoint's, which is still what the directory holds.
    /// </summary>
    private List<ConfigChange> ConfigChanges(TrainingCheckpoint ckpt, string path)
    {
        if (!ckpt.Metadata.TryGetValue("config", out var yaml)) return [];
        try
        {
            return ResumeConfig.Check(yaml, _s.ResolvedConfig, path);
        }
        catch (TrainingException)
        {
            File.WriteAllText(Path.Combine(WorkDir, "config.yaml"), yaml);
            throw;
        }
    }

    /// <summary>
    /// Restores optimizer, schedule, EMA and RNG; a learning rate changed for the resumed run replaces the
    /// checkpoint's base rates (the schedule's position stays).
    /// </summary>
    private static void RestoreTraining(TrainingCheckpoint ckpt, Optimizer optimizer, ScheduleChain schedule,
        ExpMomentumEma? ema, List<ConfigChange> changes)
    {
        var configured = optimizer.ParamGroups.Select(g => g.InitialLr).ToArray();
        CheckpointStore.RestoreTraining(ckpt, optimizer, schedule, ema);
        if (!changes.Any(c => c.Key == "optimizer.lr")) return;
        for (int i = 0; i < configured.Length; i++) optimizer.ParamGroups[i].InitialLr = configured[i];
        schedule.LoadStateDict(schedule.StateDict()); // sets the rates of the current iteration from the new base rates
    }

    /// <summary>
    /// Trains the stage's remaining epochs (from the state's epoch and batch on), validating, logging and writing
    /// checkpoints at epoch ends. Returns false when a stop request ended it early; the step in progress finishes
    /// and a checkpoint to resume from is written first.
    /// </summary>
    private bool RunEpochs(TrainingStage stage, ref TrainingState state, CancellationToken ct)
    {
        int batches = _s.Task.BatchesPerEpoch;
        for (int epoch = Math.Max(state.Epoch, stage.FirstEpoch); epoch < stage.EndEpoch; epoch++)
        {
            int batchIndex = epoch == state.Epoch ? state.BatchInEpoch : 0;
            bool histograms = HistogramsDue(stage, epoch);
            var epochWatch = Stopwatch.StartNew();
            var sums = new Dictionary<string, double>(StringComparer.Ordinal);
            int counted = 0;
            double dataWait = 0;
            var window = new Dictionary<string, double>(StringComparer.Ordinal);
            // The loader is never cancelled mid-batch: a stop request ends the epoch after the current step.
            foreach (var loaded in _s.Task.Epoch(epoch, batchIndex, CancellationToken.None))
            {
                using var batch = loaded.Value;
                dataWait += loaded.DataWait.TotalSeconds;
                var stepWatch = Stopwatch.StartNew();
                var values = ForwardBackward(stage, batch, epoch, batchIndex, state, sync: (batchIndex + 1) % _cfg.AccumulateSteps == 0);
                foreach (var (k, v) in values) window[k] = window.GetValueOrDefault(k) + v;
                batchIndex++;
                bool steps = batchIndex % _cfg.AccumulateSteps == 0;
                var shown = values;
                if (steps)
                {
                    // The epoch's last optimizer step: its gradients (before clipping) go next to the epoch-end weights.
                    if (histograms && batchIndex + _cfg.AccumulateSteps > batches) _s.Logger.GradientHistograms(_s.Student, state.Iteration + 1);
                    double gradNorm = OptimizerStep(stage, epoch, batchIndex - 1, state.Iteration);
                    state = state with { Iteration = state.Iteration + 1 };
                    values["grad_norm"] = gradNorm;
                    // A step reports the mean of the batches it accumulated (with one batch: that batch's values).
                    shown = window.ToDictionary(kv => kv.Key, kv => kv.Value / _cfg.AccumulateSteps);
                    shown["grad_norm"] = gradNorm;
                    window.Clear();
                }
                stepWatch.Stop();
                _images += batch.Count;
                foreach (var (k, v) in values) sums[k] = sums.GetValueOrDefault(k) + v;
                counted++;
                double ips = batch.Count / Math.Max(1e-9, stepWatch.Elapsed.TotalSeconds + loaded.DataWait.TotalSeconds);
                ReportStep(stage, state, epoch, batchIndex, batches, epochWatch.Elapsed, ips, loaded.DataWait.TotalSeconds, shown, steps);
                AfterStep?.Invoke(stage.Number, epoch, batchIndex);
                // A stop waits for the optimizer step the batch belongs to: gradients half accumulated are in no checkpoint.
                // Workers decide together, so that all stop after the same step.
                if (steps && StopAgreed(ct))
                {
                    state = state with { Epoch = epoch, BatchInEpoch = batchIndex, WallSeconds = _wallBefore + _runWatch.Elapsed.TotalSeconds };
                    Save(stage, stage.LastPath, state);
                    _s.Logger.Flush();
                    _log.LogInformation("stopped {Where}at epoch {Epoch}, batch {Batch}; {Checkpoint} continues with --resume",
                        stage.IsMain ? "" : "in self-distillation ", epoch + 1, batchIndex, Path.GetFileName(stage.LastPath));
                    return false;
                }
            }

            // The batches after an epoch's last full accumulation step are dropped, so no gradient crosses an epoch end
            // (where the rolling checkpoint, from which a resume starts, is written).
            if (batchIndex % _cfg.AccumulateSteps != 0) stage.Optimizer.ZeroGrad();
            state = state with { Epoch = epoch + 1, BatchInEpoch = 0, WallSeconds = _wallBefore + _runWatch.Elapsed.TotalSeconds };
            var local = sums.ToDictionary(kv => stage.EpochPrefix + kv.Key, kv => kv.Value / Math.Max(1, counted));
            local[stage.EpochPrefix + "data_wait_s"] = dataWait;
            // One all-reduce for every epoch mean, the loader's wait included.
            var epochMeans = _s.Dist.MeanAll(local);
            epochMeans[stage.EpochPrefix + "img_per_s"] = GlobalImages() / Math.Max(1e-9, _runWatch.Elapsed.TotalSeconds);
            _s.Logger.Scalars(epochMeans, state.Iteration, epoch + 1);
            state = EndOfEpoch(stage, state, epoch, histograms);
        }
        return true;
    }

    /// <summary>One batch's loss terms through the task, the non-finite guard and backward; returns the terms' values and their sum, "loss".</summary>
    /// <param name="sync">Whether this backward averages gradients over the workers (the last batch of an accumulation); otherwise they accumulate locally.</param>
    private Dictionary<string, double> ForwardBackward(TrainingStage stage, TrainingBatch batch, int epoch, int batchIndex, TrainingState state, bool sync)
    {
        // The step's dispose scope frees every handle made here.
        using var scope = torch.NewDisposeScope();
        var reducer = sync ? stage.Reducer : null;
        reducer?.BeforeForward();
        var (terms, outs) = Forward(batch, epoch, stage.IsMain);
        using (outs)
        {
            var values = terms.ToDictionary(kv => kv.Key, kv => kv.Value.ItemDouble());
            // Workers stop together: one that went on alone would wait for the others in its next collective.
            bool anyNonFinite = _s.Dist.SumAll([values.Values.Any(v => !double.IsFinite(v)) ? 1 : 0])[0] > 0;
            if (anyNonFinite && values.Values.All(double.IsFinite))
                throw Diverged(stage, "a loss term became non-finite on another worker", epoch, batchIndex, state.Iteration);
            foreach (var (name, v) in values)
                if (!double.IsFinite(v)) throw Diverged(stage, $"loss term '{name}' became {v}", epoch, batchIndex, state.Iteration);
            var total = terms.Values.Aggregate((a, b) => a + b);
            values["loss"] = values.Values.Sum();
            // train.dist.find_unused_parameters walks the graph from the loss to find the parameters it does not reach;
            // without that option the reducer ignores it.
            reducer?.PrepareForBackward([total]);
            var objective = _cfg.AccumulateSteps > 1 ? total / _cfg.AccumulateSteps : total;
            (_scaler is null ? objective : _scaler.ScaleLoss(objective)).Backward();
            return values;
        }
    }

    /// <summary>The task's forward and loss terms, under autocast when train.precision asks for mixed precision.</summary>
    private (Dictionary<string, Tensor> Terms, IDisposable Outputs) Forward(TrainingBatch batch, int epoch, bool mainStage)
    {
        if (_cfg.Autocast is not { } dtype) return _s.Task.Forward(batch, epoch, mainStage);
        using var autocast = new Autocast(_s.Device.Type, dtype);
        return _s.Task.Forward(batch, epoch, mainStage);
    }

    /// <summary>
    /// Clips (or only measures) the gradient norm, steps optimizer, schedule and EMA; returns the norm before clipping.
    /// A non-finite norm stops the run before the step touches the weights.
    /// </summary>
    private double OptimizerStep(TrainingStage stage, int epoch, int batchIndex, long iteration)
    {
        var trained = stage.Optimizer.ParamGroups.SelectMany(g => g.Params);
        if (_scaler is not null)
        {
            bool finite = _scaler.Unscale(trained);
            _scaler.Update(finite);
            if (!finite)
            {
                // Overflow in float16: this step is skipped (the gradients are identical on every worker, so all skip it).
                stage.Optimizer.ZeroGrad();
                stage.Schedule.Step();
                return double.NaN;
            }
        }
        if (_cfg.ClipValue is { } clipValue) Gradients.ClipGradValue(trained, clipValue);
        // Logged every step, clipped or not: a spike in it is the first sign of a diverging run.
        double gradNorm = _cfg.ClipMaxNorm is { } maxNorm
            ? Gradients.ClipGradNorm(trained, maxNorm, _cfg.ClipNormType)
            : Gradients.TotalNorm(trained);
        if (!double.IsFinite(gradNorm)) throw Diverged(stage, $"gradient norm became {gradNorm}", epoch, batchIndex, iteration);
        stage.Optimizer.Step();
        stage.Optimizer.ZeroGrad();
        stage.Schedule.Step();
        if (stage.IsMain && _s.Ema is not null && _s.EmaModel is not null) _s.Ema.Update(_s.EmaModel, _s.Student);
        return gradNorm;
    }

    /// <summary>
    /// Progress to the sink every batch; scalars and a log line every train.log_interval optimizer steps and at the
    /// epoch's last one (batches that only accumulate gradients would repeat the previous step's number).
    /// </summary>
    private void ReportStep(TrainingStage stage, TrainingState state, int epoch, int batchIndex, int batches, TimeSpan epochElapsed, double ips,
        double dataWait, Dictionary<string, double> values, bool stepped)
    {
        // Remaining epochs of the run (this one's unfinished part included) at this epoch's pace so far.
        double done = (double)batchIndex / batches;
        var eta = TimeSpan.FromSeconds(Math.Max(0, epochElapsed.TotalSeconds / Math.Max(1e-9, done) * (_cfg.RunEndEpoch - epoch - done)));
        _progress?.Report(new StepProgress(epoch + 1, _cfg.RunEndEpoch, batchIndex, batches, eta, ips, values));
        if (!stepped || (state.Iteration % _cfg.LogInterval != 0 && batchIndex + _cfg.AccumulateSteps <= batches)) return;
        if (_s.Dist.IsDistributed)
        {
            // Logged values are means over the workers; throughput and data wait add up and average.
            var reduced = _s.Dist.MeanAll(new Dictionary<string, double>(values) { ["\0ips"] = ips, ["\0wait"] = dataWait });
            ips = reduced["\0ips"] * _s.Dist.WorldSize;
            dataWait = reduced["\0wait"];
            values = reduced.Where(kv => !kv.Key.StartsWith('\0')).ToDictionary(kv => kv.Key, kv => kv.Value);
        }
        var scalars = values.ToDictionary(kv => stage.StepPrefix + kv.Key, kv => kv.Value);
        scalars[stage.StepPrefix + "lr"] = stage.Optimizer.ParamGroups[0].Lr;
        scalars[stage.StepPrefix + "img_per_s"] = ips;
        scalars[stage.StepPrefix + "data_wait_s"] = dataWait;
        _s.Logger.Scalars(scalars, state.Iteration, epoch);
        // The console line only when no progress display shows every step, and always at the epoch's end.
        if (_progress is not { ShowsSteps: true } || batchIndex == batches)
            _log.LogInformation("{Stage}epoch {Epoch} [{Batch}/{Batches}] {Losses} lr {Lr:G3} {Ips:F1} img/s eta {Eta}",
                stage.Label, epoch + 1, batchIndex, batches, string.Join(" ", values.Select(kv => $"{kv.Key} {kv.Value:F4}")),
                stage.Optimizer.ParamGroups[0].Lr, ips, eta.ToString(@"hh\:mm\:ss"));
    }

    /// <summary>Validation when due (and the best checkpoint), histograms, the rolling checkpoint and the periodic one.</summary>
    private TrainingState EndOfEpoch(TrainingStage stage, TrainingState state, int epoch, bool histograms)
    {
        bool lastOfStage = epoch + 1 == stage.EndEpoch;
        int epochsDone = stage.EpochInStage(epoch) + 1;
        if (epochsDone % _cfg.ValInterval == 0 || lastOfStage)
        {
            try
            {
                _lastMetrics = Validate(stage, state.Iteration, epoch + 1);
            }
            catch (Exception e) when (e is not OperationCanceledException and not TrainingException)
            {
                // The epoch's training is not lost to a validation image that went missing or bad: it is kept first.
                Save(stage, stage.LastPath, state);
                var cause = e is AggregateException { InnerExceptions.Count: 1 } one ? one.InnerExceptions[0] : e;
                throw new TrainingException($"{stage.Label}validation after epoch {epoch + 1} failed: {cause.Message}{Environment.NewLine}" +
                    $"The epoch's training is saved in {stage.LastPath}; fix the validation data and continue with --resume.", e);
            }
            // The best checkpoint ranks main-run models only; self-distillation reports under self_distill/val/ beside it.
            if (stage.IsMain && _lastMetrics.TryGetValue(_cfg.BestMetric, out var value) && double.IsFinite(value) &&
                (state.BestMetric is null || (_cfg.GreaterIsBetter ? value > state.BestMetric : value < state.BestMetric)))
            {
                state = state with { BestMetric = value, BestEpoch = epoch + 1, BestMetricName = _cfg.BestMetric };
                if (_s.Checkpoints.Settings.SaveBest)
                {
                    _best = _s.Checkpoints.PathOf(RunCheckpoints.BestFile);
                    Save(stage, _best, state);
                    _log.LogInformation("new best {Metric} = {Value:F4} at epoch {Epoch}", _cfg.BestMetric, value, epoch + 1);
                }
            }
        }
        if (histograms) _s.Logger.WeightHistograms(_s.Student, state.Iteration);
        Save(stage, stage.LastPath, state);
        if (epochsDone % _s.Checkpoints.Settings.Interval == 0 || lastOfStage)
        {
            Save(stage, _s.Checkpoints.PathOf($"epoch_{epoch + 1}.safetensors"), state);
            _s.Checkpoints.Prune();
        }
        _s.Logger.Flush();
        return state;
    }

    /// <summary>Whether epoch <paramref name="epoch"/> logs histograms: every logging.histogram_interval epochs of the stage (by default at each validation) and at its end.</summary>
    private bool HistogramsDue(TrainingStage stage, int epoch) =>
        _s.Logger.WritesHistograms && ((stage.EpochInStage(epoch) + 1) % _cfg.HistogramInterval == 0 || epoch + 1 == stage.EndEpoch);

    /// <summary>Evaluates the stage's model on every validation split and logs the metrics under the stage's prefix.</summary>
    private Dictionary<string, double> Validate(TrainingStage stage, long iteration, int epoch)
    {
        var sw = Stopwatch.StartNew();
        // Workers validate rank 0's weights (their BN statistics drift apart in training), each its shard of every split.
        BroadcastModels();
        var metrics = _s.Task.Validate(stage.EvalModel, epoch,
            _progress is null ? null : (source, done, total) => _progress.ReportValidation(new ValidationProgress(epoch, source, done, total)));
        _log.LogInformation("{Stage}validation at epoch {Epoch} ({Seconds:F1} s): {Metrics}", stage.Label,
            epoch, sw.Elapsed.TotalSeconds, string.Join(", ", metrics.Select(kv => $"{kv.Key} {kv.Value:F4}")));
        var named = metrics.ToDictionary(kv => stage.ValPrefix + kv.Key, kv => kv.Value);
        if (named.Count > 0) _s.Logger.Scalars(named, iteration, epoch);
        _s.Task.LogValidationImages(_s.Logger, stage.EvalModel, stage.ValPrefix, iteration);
        return metrics;
    }

    /// <summary>
    /// Writes a checkpoint of <paramref name="stage"/>. Self-distillation leaves out the main run's EMA (it no longer
    /// changes, and weight loaders that prefer EMA weights would pick it over the retrained student) and adds its
    /// self-teacher (see <see cref="SelfDistillation"/>).
    /// </summary>
    private void Save(TrainingStage stage, string path, TrainingState state)
    {
        try
        {
            _s.Checkpoints.Save(path, stage.Number, _s.Student, stage.IsMain ? _s.EmaModel : null, _s.Task.CheckpointModules, stage.Optimizer,
                stage.Schedule, stage.IsMain ? _s.Ema : null, state);
        }
        catch (NonFiniteStateException e)
        {
            throw new TrainingException($"{stage.Label}the model diverged: {e.Message}. {LastGoodAdvice()}", e);
        }
        if (path == stage.LastPath) _lastGood = (path, state);
    }

    /// <summary>The stop of a diverged run: what became non-finite where, and the last good checkpoint to go back to.</summary>
    private TrainingException Diverged(TrainingStage stage, string what, int epoch, int batchIndex, long iteration) =>
        new($"{stage.Label}{what} at epoch {epoch + 1}, batch {batchIndex + 1} (iteration {iteration + 1}); training stopped before " +
            $"updating the weights. {LastGoodAdvice()}");

    private string LastGoodAdvice() => _lastGood is var (path, state)
        ? $"The last good checkpoint is {path} ({(state.BatchInEpoch == 0 ? $"end of epoch {state.Epoch}" : $"epoch {state.Epoch + 1}, batch {state.BatchInEpoch}")}, " +
          $"iteration {state.Iteration}); " +
          "lower optimizer.lr or set optimizer.clip_grad and continue from it with --resume."
        : "No checkpoint was written before it; lower optimizer.lr or set optimizer.clip_grad and start again.";

    /// <summary>Whether to stop now: asked of every worker at the same point, so that all stop after the same step.</summary>
    private bool StopAgreed(CancellationToken ct) =>
        _s.Dist.IsDistributed ? _s.Dist.SumAll([ct.IsCancellationRequested ? 1 : 0])[0] > 0 : ct.IsCancellationRequested;

    /// <summary>Images trained so far in this session by all workers.</summary>
    private double GlobalImages() => _s.Dist.SumAll([_images])[0];

    /// <summary>Copies rank 0's student, EMA, feature-KD adapters and (in self-distillation) self-teacher to every worker.</summary>
    private void BroadcastModels()
    {
        if (!_s.Dist.IsDistributed) return;
        foreach (var (_, network) in Networks) _s.Dist.BroadcastStates(network.StateDict().Select(kv => kv.Value));
    }

    public void Dispose() => _s.Dispose();
}
