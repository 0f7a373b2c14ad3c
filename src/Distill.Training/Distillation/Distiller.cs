using Distill.Pose.Codecs;
using Distill.Pose.Data;
using Distill.Pose.Losses;
using Distill.Pose.Models;
using Distill.Pose.Transforms;
using Distill.Torch;
using Distill.Torch.Nn;

namespace Distill.Training.Distillation;

/// <summary>How the distillation terms are weighted and reduced (plain values; the config maps onto them once).</summary>
public sealed record DistillationSettings
{
    /// <summary>losses.logit_kd.weight: scales every teacher's logit term.</summary>
    public double LogitWeight { get; init; } = 1.0;

    public WeightSchedule LogitSchedule { get; init; } = WeightSchedule.Constant;

    /// <summary>Logit scale inside both softmaxes of the logit term (1 / temperature).</summary>
    public double Beta { get; init; } = 10.0;

    public KDReduction Reduction { get; init; } = KDReduction.DWPose;

    /// <summary>Restrict each teacher's logit term to the keypoints it knows and sees.</summary>
    public bool MaskUnknown { get; init; }

    /// <summary>losses.feature_kd.weight; 0 builds no feature adapters.</summary>
    public double FeatureWeight { get; init; }

    public WeightSchedule FeatureSchedule { get; init; } = WeightSchedule.Constant;

    /// <summary>The epochs the weight schedules span (the main run's length).</summary>
    public int ScheduleEpochs { get; init; } = 1;

    /// <summary>Weight of the self-teacher's logit term during self-distillation.</summary>
    public double SelfLogitWeight { get; init; } = 1.0;
}

/// <summary>
/// What the teachers see of one batch: per teacher its crops and, per sample, the map from student-crop to
/// teacher-crop pixels; and the data source of each sample (null when unknown), which decides the samples a teacher
/// with teachers[].sources speaks for.
/// </summary>
public sealed record TeacherViews(IReadOnlyList<Tensor> Inputs, IReadOnlyList<IReadOnlyList<AffineMatrix>> StudentToTeacher,
    IReadOnlyList<string?>? SampleSources = null)
{
    /// <summary>The views of a collated training batch for <paramref name="teachers"/> teachers, crops moved to <paramref name="device"/>.</summary>
    public static TeacherViews Of(TopdownBatch batch, int teachers, Device device) => new(
        batch.TeacherInputs.Select(t => t.To(device)).ToList(),
        Enumerable.Range(0, teachers).Select(t => (IReadOnlyList<AffineMatrix>)batch.Samples.Select(s => s.StudentToTeacher[t]).ToList()).ToList(),
        batch.Samples.Select(s => s.Source).ToList());
}

/// <summary>
/// The distillation objective, as a model-level part: it owns the frozen teachers, the feature-KD adapters and, during
/// self-distillation, the self-teacher, and turns one batch (the student's crops and targets, the teachers' views) into
/// named, weighted loss terms: the head's ground-truth terms, loss_kd/NAME per teacher, loss_fea/NAME per feature-KD
/// teacher, or loss_kd/self. The trainer and the KD benchmark both call <see cref="Forward"/>.
/// </summary>
public sealed class Distiller : IDisposable
{
    /// <summary>Name of the self-teacher among the distillation modules (its checkpoint tensors are kd.self_teacher.*).</summary>
    public const string SelfTeacherName = "self_teacher";

    private readonly DistillationSettings _settings;
    private readonly List<TeacherModel> _teachers = [];
    private readonly Dictionary<string, FeatureKDLoss> _adapters = new(StringComparer.Ordinal);
    private readonly TopdownPoseEstimator _student;
    private readonly Device _device;
    private readonly bool _channelsLast;
    private readonly bool _ownsTeachers;

    /// <param name="student">The network being trained: it sizes the feature adapters, whose layout follows its own.</param>
    /// <param name="ownsTeachers">Dispose the added teachers with the distiller (off where several distillers share them).</param>
    public Distiller(DistillationSettings settings, TopdownPoseEstimator student, Device device, bool channelsLast, bool ownsTeachers = true)
    {
        _ownsTeachers = ownsTeachers;
        _settings = settings;
        _student = student;
        _device = device;
        _channelsLast = channelsLast;
        LogitKd = new LogitKDLoss(settings.Beta, settings.Reduction);
    }

    public DistillationSettings Settings => _settings;

    public LogitKDLoss LogitKd { get; }

    public IReadOnlyList<TeacherModel> Teachers => _teachers;

    /// <summary>The 1x1 alignment of student to teacher features, by teacher name (teachers with feature KD only).</summary>
    public IReadOnlyDictionary<string, FeatureKDLoss> Adapters => _adapters;

    /// <summary>The frozen copy of the student that self-distillation learns from; null outside it.</summary>
    public TopdownPoseEstimator? SelfTeacher { get; private set; }

    /// <summary>
    /// Takes a loaded teacher (and ownership of it); a teacher with feature KD gets its adapter now, so adapters
    /// initialise in teacher order.
    /// </summary>
    public void Add(TeacherModel teacher)
    {
        if (teacher.Name == SelfTeacherName) throw new ArgumentException($"teachers: '{SelfTeacherName}' is reserved for the self-teacher");
        _teachers.Add(teacher);
        if (!(_settings.FeatureWeight > 0 && teacher.Weights.FeatureWeight > 0)) return;
        if (teacher.Runtime == Config.Schema.TeacherRuntime.OnnxRuntime)
            throw new Engine.TrainingException($"teachers.{teacher.Name}: feature KD needs the teacher's backbone features, which its ONNX Runtime export does not give; use runtime libtorch or auto");
        var (ts, ss) = (teacher.Model.Backbone.OutStrides[^1], _student.Backbone.OutStrides[^1]);
        if (ts != ss)
            throw new Engine.TrainingException($"teachers.{teacher.Name}: feature KD needs equal strides after resampling (teacher {ts}, student {ss})");
        var fk = new FeatureKDLoss(_student.Backbone.OutChannels[^1], teacher.Model.Backbone.OutChannels[^1], 1.0);
        fk.To(_device);
        // Its 1x1 alignment conv runs on the student's (then channels-last) features.
        if (_channelsLast) fk.ToChannelsLast();
        _adapters[teacher.Name] = fk;
    }

    /// <summary>Checks that the student can take what the teachers give: logit KD maps distributions onto SimCC bins.</summary>
    public void Validate()
    {
        if (_teachers.Count > 0 && _student.Codec is not SimCCLabel)
            throw new Engine.TrainingException("teachers: logit distillation needs a SimCC student (model.head.type RTMCCHead)");
    }

    /// <summary>Trainable parameters the distiller adds to the student's (the feature adapters).</summary>
    public IEnumerable<Tensor> Parameters() => _adapters.Values.SelectMany(f => f.Parameters());

    /// <summary>The modules a checkpoint stores under kd.NAME.: the adapters, and the self-teacher while there is one.</summary>
    public IEnumerable<(string Name, Module Module)> Modules()
    {
        foreach (var (name, fk) in _adapters) yield return (name, fk);
        if (SelfTeacher is { } self) yield return (SelfTeacherName, self);
    }

    /// <summary>Self-distillation from now on, from <paramref name="teacher"/> (owned until <see cref="EndSelfDistillation"/>).</summary>
    public void BeginSelfDistillation(TopdownPoseEstimator teacher)
    {
        if (_student.Codec is not SimCCLabel)
            throw new Engine.TrainingException("train.self_distill: self-distillation needs a SimCC student (model.head.type RTMCCHead)");
        SelfTeacher?.Dispose();
        SelfTeacher = teacher;
    }

    public void EndSelfDistillation()
    {
        SelfTeacher?.Dispose();
        SelfTeacher = null;
    }

    /// <summary>The weight of teacher <paramref name="t"/>'s logit term in 0-based epoch <paramref name="epoch"/>.</summary>
    public double LogitWeightOf(int t, int epoch)
    {
        var w = _teachers[t].Weights;
        return _settings.LogitWeight * w.Weight * w.LogitWeight * _settings.LogitSchedule.Factor(epoch, _settings.ScheduleEpochs);
    }

    /// <summary>The weight of teacher <paramref name="t"/>'s feature term in 0-based epoch <paramref name="epoch"/>.</summary>
    public double FeatureWeightOf(int t, int epoch)
    {
        var w = _teachers[t].Weights;
        return _settings.FeatureWeight * w.Weight * w.FeatureWeight * _settings.FeatureSchedule.Factor(epoch, _settings.ScheduleEpochs);
    }

    /// <summary>
    /// The student's forward on <paramref name="input"/> and every loss term of the batch, each already weighted. The
    /// caller sums the terms, runs backward and disposes the outputs; the terms live in the caller's dispose scope.
    /// </summary>
    /// <param name="views">The teachers' crops; unused (may be null) without teachers or during self-distillation.</param>
    public (Dictionary<string, Tensor> Terms, PoseOutputs Outputs) Forward(Tensor input, IReadOnlyDictionary<string, Tensor> targets,
        TeacherViews? views, int epoch)
    {
        var simcc = _student.Codec as SimCCLabel;
        TeacherTargets TargetsOf(int t, (long, long, int)? featShape) =>
            _teachers[t].Targets(views!.Inputs[t], views.StudentToTeacher[t], simcc!, LogitKd, featShape);
        // Teachers that need nothing from the student run before its forward, while its activations (kept for backward)
        // do not exist yet: the step's peak memory is then the larger of the two, not their sum.
        var early = new TeacherTargets?[SelfTeacher is null ? _teachers.Count : 0];
        for (int t = 0; t < early.Length; t++)
            if (!_adapters.ContainsKey(_teachers[t].Name)) early[t] = TargetsOf(t, null);
        var outs = _student.ForwardWithFeatures(input);
        var terms = new Dictionary<string, Tensor>(_student.Loss(outs.Heads, targets), StringComparer.Ordinal);
        if (SelfTeacher is { } self)
        {
            var (px, py) = SelfTargets(self, input);
            terms["loss_kd/self"] = LogitKd.Forward(outs["simcc_x"], outs["simcc_y"], px, py) * _settings.SelfLogitWeight;
            return (terms, outs);
        }

        for (int t = 0; t < _teachers.Count; t++)
        {
            var teacher = _teachers[t];
            // Feature KD resamples the teacher's features onto the student's feature grid, so those teachers follow it.
            using var tt = early[t] ?? TargetsOf(t, (outs.Features[^1].Size(2), outs.Features[^1].Size(3), _student.Backbone.OutStrides[^1]));
            // A teacher with teachers[].sources speaks only for the samples of those sources: its terms are averaged
            // over them (see LogitKDLoss.Forward); null when it speaks for the whole batch, which keeps the plain terms.
            using var samples = teacher.SampleMask(views!.SampleSources, outs["simcc_x"].Device);
            double w = LogitWeightOf(t, epoch);
            if (w > 0)
            {
                // Optionally restrict KD to keypoints this teacher knows (and sees); otherwise all, as DWPose.
                var mask = _settings.MaskUnknown ? tt.Mask : null;
                terms[$"loss_kd/{teacher.Name}"] = LogitKd.Forward(outs["simcc_x"], outs["simcc_y"], tt.ProbX, tt.ProbY, mask, samples) * w;
            }
            if (_adapters.TryGetValue(teacher.Name, out var fk) && tt.Features is not null)
                terms[$"loss_fea/{teacher.Name}"] = fk.Forward(outs.Features[^1], tt.Features, samples) * FeatureWeightOf(t, epoch);
        }
        return (terms, outs);
    }

    /// <summary>The self-teacher's distributions on the student's own crops, as ordinary (autograd-usable) tensors.</summary>
    private (Tensor X, Tensor Y) SelfTargets(TopdownPoseEstimator self, Tensor input)
    {
        Tensor px, py;
        using (Autograd.InferenceMode())
        {
            var t = self.Forward(input);
            px = LogitKd.TeacherProbabilities(t["simcc_x"]);
            py = LogitKd.TeacherProbabilities(t["simcc_y"]);
        }
        using (Autograd.NoGrad())
        {
            // Inference-mode tensors cannot enter autograd; plain copies can.
            return (px.Clone(), py.Clone());
        }
    }

    public void Dispose()
    {
        if (_ownsTeachers)
            foreach (var t in _teachers) t.Dispose();
        foreach (var f in _adapters.Values) f.Dispose();
        SelfTeacher?.Dispose();
    }
}
