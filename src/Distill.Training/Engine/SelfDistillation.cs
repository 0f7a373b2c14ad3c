using Distill.Pose.Models;
using Distill.Torch;
using Distill.Training.Checkpoints;
using Distill.Training.Distillation;
using Microsoft.Extensions.Logging;

namespace Distill.Training.Engine;

/// <summary>
/// DWPose's head-only self-distillation (train.self_distill): the trained student (its EMA when there is one) becomes
/// its own frozen teacher (BN folded, inference mode) and the student continues from the same weights with only the
/// head trained, on the frozen backbone's features, against the GT loss plus logit KD from the teacher's distributions
/// on the same crops.
/// </summary>
/// <remarks>
/// The self-teacher travels inside every self-distillation checkpoint (kd.self_teacher.*, already BN-folded) instead of
/// being rebuilt from the main run's result on resume: no file in the run directory reliably holds that result
/// (periodic files are pruned by checkpoint.keep_last, last.safetensors is rewritten by a fresh run or a resume from an
/// earlier checkpoint, and --resume may name a checkpoint copied elsewhere), while the student's own weights cannot
/// give it back because its head has moved. One more model copy per file buys a resume that never depends on another file.
/// </remarks>
internal sealed class SelfDistillation(TrainingSetup s, TopdownTask task, ILogger log)
{
    /// <summary>Starts the stage after the main run: the self-teacher from the run's result.</summary>
    public TrainingStage Begin()
    {
        var source = (s.EmaModel ?? s.Student).StateDict().ToDictionary(kv => kv.Key, kv => kv.Value);
        var teacher = BuildTeacher(source, folded: false);
        if (s.EmaModel is not null) s.Student.LoadStateDict(source);
        log.LogInformation("self-distillation: head-only for {Epochs} epochs (logit KD weight {Weight})",
            s.Settings.SelfDistillEpochs, task.Distiller.Settings.SelfLogitWeight);
        return Stage(teacher);
    }

    /// <summary>Re-enters the stage from one of its checkpoints, with the self-teacher it carries.</summary>
    public TrainingStage Restore(TrainingCheckpoint ckpt, string path)
    {
        if (s.Settings.SelfDistillEpochs == 0)
            throw new TrainingException($"--resume: {path} was written during train.self_distill, which this config does not enable");
        var weights = ckpt.WithPrefix($"kd.{Distiller.SelfTeacherName}.");
        if (weights.Count == 0)
            throw new TrainingException($"--resume: {path} is a self-distillation checkpoint without the self-teacher (no kd.{Distiller.SelfTeacherName}.* tensors)");
        return Stage(BuildTeacher(weights, folded: true));
    }

    private TrainingStage Stage(TopdownPoseEstimator teacher)
    {
        task.Distiller.BeginSelfDistillation(teacher);
        task.Model.Backbone.RequiresGrad_(false);
        var (opt, schedule) = s.SelfDistillOptimizer(task.Model.Head.Parameters());
        var reducer = s.NewReducer?.Invoke(opt.ParamGroups.SelectMany(g => g.Params));
        return new TrainingStage
        {
            Number = 2,
            FirstEpoch = s.Settings.MaxEpochs,
            EndEpoch = s.Settings.MaxEpochs + s.Settings.SelfDistillEpochs,
            Optimizer = opt,
            Schedule = schedule,
            EvalModel = task.Model,
            LastPath = s.Checkpoints.PathOf(RunCheckpoints.SelfDistillFile),
            TagPrefix = "self_distill/",
            OwnsOptimizer = true,
            Reducer = reducer,
            OwnsReducer = true,
        };
    }

    /// <summary>
    /// The self-teacher: the student's architecture, frozen, in inference mode, BN folded into the convolutions.
    /// <paramref name="folded"/> weights come from a self-distillation checkpoint and are already folded, so the empty
    /// copy is folded first to take their layout.
    /// </summary>
    private TopdownPoseEstimator BuildTeacher(IReadOnlyDictionary<string, Tensor> weights, bool folded)
    {
        var teacher = task.NewStudent();
        try
        {
            teacher.To(s.Device);
            teacher.Eval();
            teacher.RequiresGrad_(false);
            if (folded) teacher.FoldBatchNorm();
            teacher.LoadStateDict(weights, strict: true);
            if (!folded) teacher.FoldBatchNorm();
            // It sees the student's batches, which are channels-last when the student is.
            if (task.ChannelsLast) teacher.ToChannelsLast();
            return teacher;
        }
        catch
        {
            teacher.Dispose();
            throw;
        }
    }
}
