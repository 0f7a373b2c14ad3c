using Distill.Pose.Codecs;
using Distill.Pose.Models;
using Distill.Pose.Transforms;
using Distill.Torch;
using Distill.Torch.Distributed;
using Distill.Torch.Optim;
using Distill.Training.Config.Schema;
using Distill.Training.Distillation;
using Distill.Training.Engine;
using Distill.Training.Models;

namespace Distill.Bench;

/// <summary>
/// One distillation training step on a fixed batch, made of the trainer's own parts: a <see cref="Distiller"/> built
/// from the experiment's settings gives every loss term (teacher forwards and their mapping into the student's bins,
/// the student's forward on its crops in its own layout, the ground-truth loss and each teacher's weighted logit term),
/// every term is read back as a number (the trainer logs them), then backward, gradient clipping and the
/// <see cref="OptimizerFactory"/>'s optimizer step.
/// </summary>
internal sealed class KdStep : IDisposable
{
    private readonly ExperimentOptions _o;
    private readonly TopdownPoseEstimator _student;
    private readonly bool _channelsLast;
    private readonly Optimizer _optimizer;
    private readonly ClipGradOptions? _clip;
    private readonly KdFixture _batch;

    public KdStep(ExperimentOptions o, TopdownPoseEstimator student, KdFixture batch)
    {
        _o = o;
        _student = student;
        // As the trainer feeds a channels-last student: its batches in the same layout.
        _channelsLast = ChannelsLast.IsStoredIn(student);
        if (student.Codec is not SimCCLabel) throw new ArgumentException("logit distillation needs a SimCC student");
        var kd = o.Losses.LogitKd;
        if (kd.Reduction != Distill.Pose.Losses.KDReduction.DWPose)
            throw new ArgumentException($"the kd suite's PyTorch loop implements the dwpose reduction only, the config asks for {kd.Reduction}");
        _batch = batch;
        _clip = o.Optimizer.ClipGrad;
        var oo = o.Optimizer;
        if (oo.Type != OptimizerType.AdamW) throw new ArgumentException($"the kd suite measures AdamW steps, the config asks for {oo.Type}");
        if (oo.AccumulateSteps > 1) throw new ArgumentException("the kd suite measures one optimizer step per batch (optimizer.accumulate_steps 1)");
        _optimizer = OptimizerFactory.Create(oo, student.Parameters());
    }

    /// <summary>The weight decay of the 1-d parameters' group (the second of <see cref="OptimizerFactory.Create"/>'s groups).</summary>
    public double NoDecayWeightDecay => _optimizer.ParamGroups[^1].WeightDecay;

    /// <summary>The trained parameters in the optimizer's order (the order the trainer gives its gradient reducer).</summary>
    public IEnumerable<Tensor> Parameters => _optimizer.ParamGroups.SelectMany(g => g.Params);

    /// <summary>Whether the student's weights, and so its input batches, are channels-last.</summary>
    public bool IsChannelsLast => _channelsLast;

    /// <summary>The experiment's distiller for this student over <paramref name="teachers"/>, which stay the caller's to dispose.</summary>
    public Distiller DistillerFor(IEnumerable<TeacherModel> teachers)
    {
        var d = new Distiller(TrainingSetup.DistillationSettingsOf(_o), _student, Device.Cpu, _channelsLast, ownsTeachers: false);
        foreach (var t in teachers) d.Add(t);
        d.Validate();
        return d;
    }

    /// <summary>Runs the step on the fixed batch; returns every loss term and their sum, "loss".</summary>
    public Dictionary<string, double> Run(Distiller distiller) =>
        Run(distiller, _batch.StudentInput, _batch.Targets, new TeacherViews(_batch.TeacherInputs, _batch.StudentToTeacher));

    /// <summary>
    /// Runs the step on any batch: student crops, their targets, and the teachers' views (null without teachers). With
    /// a <paramref name="reducer"/> the gradients are averaged over its workers, at the points where the trainer arms it.
    /// </summary>
    public Dictionary<string, double> Run(Distiller distiller, Tensor input, IReadOnlyDictionary<string, Tensor> targets, TeacherViews? views,
        Reducer? reducer = null)
    {
        Dictionary<string, double> values;
        using (var scope = torch.NewDisposeScope())
        {
            _student.Train();
            reducer?.BeforeForward();
            // Epoch 0, as the trainer's first step: every weight schedule's factor is 1 there.
            var (terms, outs) = distiller.Forward(ChannelsLast.Input(input, _channelsLast), targets, views, epoch: 0);
            using (outs)
            {
                values = terms.ToDictionary(kv => kv.Key, kv => kv.Value.ItemDouble());
                values["loss"] = values.Values.Sum();
                reducer?.PrepareForBackward();
                terms.Values.Aggregate((a, b) => a + b).Backward();
            }
        }
        if (_clip is not null) Gradients.ClipGradNorm(_optimizer.ParamGroups.SelectMany(g => g.Params), _clip.MaxNorm, _clip.NormType);
        _optimizer.Step();
        _optimizer.ZeroGrad();
        return values;
    }

    /// <summary>Per teacher, how many (sample, keypoint) pairs of the batch get KD weight 1 (teacher knows the keypoint and sees it).</summary>
    public long[] MaskCounts(Distiller distiller)
    {
        var counts = new long[distiller.Teachers.Count];
        var codec = (SimCCLabel)_student.Codec;
        for (int t = 0; t < counts.Length; t++)
        {
            using var scope = torch.NewDisposeScope();
            using var tt = distiller.Teachers[t].Targets(_batch.TeacherInputs[t], _batch.StudentToTeacher[t], codec, distiller.LogitKd);
            counts[t] = tt.Mask.Sum().Long().ItemLong();
        }
        return counts;
    }

    public void Dispose() => _optimizer.Dispose();
}
