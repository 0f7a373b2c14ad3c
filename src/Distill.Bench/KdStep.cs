using Distill.Pose.Codecs;
using Distill.Pose.Losses;
using Distill.Pose.Models;
using Distill.Pose.Transforms;
using Distill.Torch;
using Distill.Torch.Optim;
using Distill.Training.Config.Schema;
using Distill.Training.Distillation;
using Distill.Training.Models;
using Distill.Training.Engine;

namespace Distill.Bench;

/// <summary>
/// One logit-distillation training step on a fixed batch, assembled from the trainer's parts as Trainer.Run assembles
/// them: per teacher <see cref="TeacherModel.Targets"/> (teacher forward and the mapping into the student's bins),
/// student forward (its crops channels-last when its weights are), ground-truth loss (the head's KLDiscretLoss), <see cref="LogitKDLoss"/> per teacher with its mask and weight,
/// every term read back as a number (the trainer logs them), backward, gradient clipping, AdamW step.
/// </summary>
internal sealed class KdStep : IDisposable
{
    private readonly TopdownPoseEstimator _student;
    private readonly bool _channelsLast;
    private readonly SimCCLabel _codec;
    private readonly LogitKDLoss _kd;
    private readonly bool _maskUnknown;
    private readonly double[] _kdWeights;
    private readonly Optimizer _optimizer;
    private readonly ClipGradOptions? _clip;
    private readonly KdFixture _batch;

    public KdStep(ExperimentOptions o, TopdownPoseEstimator student, KdFixture batch)
    {
        _student = student;
        // As the trainer feeds a channels-last student: its batches in the same layout.
        _channelsLast = ChannelsLast.IsStoredIn(student);
        _codec = student.Codec as SimCCLabel ?? throw new ArgumentException("logit distillation needs a SimCC student");
        var kd = o.Losses.LogitKd;
        if (kd.Reduction != KDReduction.DWPose)
            throw new ArgumentException($"the kd suite's PyTorch loop implements the dwpose reduction only, the config asks for {kd.Reduction}");
        _kd = new LogitKDLoss(kd.EffectiveBeta, KDReduction.DWPose);
        _maskUnknown = kd.MaskUnknown;
        // The weights of the first epoch (the schedule's factor there is 1 for every schedule).
        double factor = Trainer.WeightScheduleFactor(kd.Schedule, 0, o.Train.MaxEpochs);
        _kdWeights = o.Teachers.Select(t => kd.Weight * t.Weight * t.LogitWeight * factor).ToArray();
        _batch = batch;
        _clip = o.Optimizer.ClipGrad;
        var oo = o.Optimizer;
        if (oo.Type != OptimizerType.AdamW) throw new ArgumentException($"the kd suite measures AdamW steps, the config asks for {oo.Type}");
        if (oo.AccumulateSteps > 1) throw new ArgumentException("the kd suite measures one optimizer step per batch (optimizer.accumulate_steps 1)");
        // The trainer's parameter groups: no weight decay on 1-d parameters (norm weights, biases) unless multiplied in.
        var all = student.Parameters().Where(p => p.RequiresGrad).ToList();
        _optimizer = new AdamW(
        [
            new ParamGroup(all.Where(p => p.Dim > 1)) { WeightDecay = oo.WeightDecay },
            new ParamGroup(all.Where(p => p.Dim <= 1)) { WeightDecay = NoDecayWeightDecay(oo) },
        ], oo.Lr, oo.Betas[0], oo.Betas[1], oo.Eps, oo.WeightDecay);
    }

    /// <summary>The weight decay of the 1-d parameters' group.</summary>
    public static double NoDecayWeightDecay(OptimizerOptions oo) => oo.WeightDecay * Math.Max(oo.NormDecayMult, oo.BiasDecayMult);

    public double KdWeight(int teacher) => _kdWeights[teacher];

    /// <summary>Whether the student's weights, and so its input batches, are channels-last.</summary>
    public bool IsChannelsLast => _channelsLast;

    /// <summary>Runs the step on the fixed batch with <paramref name="teachers"/> (one per fixture teacher input); returns every loss term and their sum, "loss".</summary>
    public Dictionary<string, double> Run(IReadOnlyList<TeacherModel> teachers) =>
        Run(teachers, _batch.StudentInput, _batch.Targets, _batch.TeacherInputs, _batch.StudentToTeacher);

    /// <summary>Runs the step on any batch: student crops, their targets, and per teacher its crops and crop maps.</summary>
    public Dictionary<string, double> Run(IReadOnlyList<TeacherModel> teachers, Tensor input, IReadOnlyDictionary<string, Tensor> targets,
        IReadOnlyList<Tensor> teacherInputs, IReadOnlyList<IReadOnlyList<AffineMatrix>> studentToTeacher)
    {
        Dictionary<string, double> values;
        using (var scope = torch.NewDisposeScope())
        {
            _student.Train();
            // Teachers first, as the trainer runs teachers without feature KD: their forwards are over before the
            // student's activations exist.
            var teacherTargets = teachers.Select((teacher, t) => teacher.Targets(teacherInputs[t], studentToTeacher[t], _codec, _kd.Beta))
                .ToList();
            using var outs = _student.ForwardWithFeatures(ChannelsLast.Input(input, _channelsLast));
            var terms = new Dictionary<string, Tensor>(_student.Loss(outs.Heads, targets), StringComparer.Ordinal);
            for (int t = 0; t < teachers.Count; t++)
            {
                using var tt = teacherTargets[t];
                var mask = _maskUnknown ? tt.Mask : null;
                terms[$"loss_kd/{teachers[t].Name}"] = _kd.Forward(outs["simcc_x"], outs["simcc_y"], tt.ProbX, tt.ProbY, mask) * _kdWeights[t];
            }
            values = terms.ToDictionary(kv => kv.Key, kv => kv.Value.ItemDouble());
            values["loss"] = values.Values.Sum();
            terms.Values.Aggregate((a, b) => a + b).Backward();
        }
        if (_clip is not null) Gradients.ClipGradNorm(_optimizer.ParamGroups.SelectMany(g => g.Params), _clip.MaxNorm, _clip.NormType);
        _optimizer.Step();
        _optimizer.ZeroGrad();
        return values;
    }

    /// <summary>Per teacher, how many (sample, keypoint) pairs of the batch get KD weight 1 (teacher knows the keypoint and sees it).</summary>
    public long[] MaskCounts(IReadOnlyList<TeacherModel> teachers)
    {
        var counts = new long[teachers.Count];
        for (int t = 0; t < teachers.Count; t++)
        {
            using var scope = torch.NewDisposeScope();
            using var tt = teachers[t].Targets(_batch.TeacherInputs[t], _batch.StudentToTeacher[t], _codec, _kd.Beta);
            counts[t] = tt.Mask.Sum().Long().ItemLong();
        }
        return counts;
    }

    public void Dispose() => _optimizer.Dispose();
}
