using Distill.Pose.BottomUp;
using Distill.Pose.BottomUp.Heads;
using Distill.Pose.BottomUp.Losses;
using Distill.Pose.Losses;
using Distill.Torch;
using Distill.Torch.Nn;
using Distill.Training.Config.Schema;
using Distill.Training.Engine;

namespace Distill.Training.Distillation;

/// <summary>How a bottom-up student's distillation terms are weighted (plain values; <see cref="From"/> maps the config).</summary>
public sealed record BottomupDistillationSettings
{
    /// <summary>losses.logit_kd.weight: scales every teacher's field terms.</summary>
    public double FieldWeight { get; init; } = 1.0;

    /// <summary>losses.logit_kd.schedule.</summary>
    public WeightSchedule FieldSchedule { get; init; } = WeightSchedule.Constant;

    /// <summary>losses.logit_kd.fields.confidence: the cif.c and caf.c terms.</summary>
    public double ConfidenceWeight { get; init; } = 1.0;

    /// <summary>losses.logit_kd.fields.vector: the cif.vec and caf.vec terms.</summary>
    public double VectorWeight { get; init; } = 1.0;

    /// <summary>losses.logit_kd.fields.scale: the cif.scales and caf.scales terms.</summary>
    public double ScaleWeight { get; init; } = 1.0;

    /// <summary>losses.feature_kd.weight; 0 builds no feature adapters.</summary>
    public double FeatureWeight { get; init; }

    /// <summary>losses.feature_kd.schedule.</summary>
    public WeightSchedule FeatureSchedule { get; init; } = WeightSchedule.Constant;

    /// <summary>losses.feature_kd.student_index: the student backbone output distilled (negative counts from the end).</summary>
    public int StudentFeature { get; init; } = -1;

    /// <summary>losses.feature_kd.teacher_index: the teacher backbone output it learns from (negative counts from the end).</summary>
    public int TeacherFeature { get; init; } = -1;

    /// <summary>The epochs the weight schedules span (train.max_epochs).</summary>
    public int ScheduleEpochs { get; init; } = 1;

    /// <summary>The distillation part of a bottom-up experiment (its keys are checked when the config is bound).</summary>
    public static BottomupDistillationSettings From(ExperimentOptions o)
    {
        var l = o.Losses;
        var f = l.LogitKd.Fields ?? new FieldKdOptions();
        return new BottomupDistillationSettings
        {
            FieldWeight = l.LogitKd.Weight,
            FieldSchedule = l.LogitKd.Schedule,
            ConfidenceWeight = f.Confidence,
            VectorWeight = f.Vector,
            ScaleWeight = f.Scale,
            FeatureWeight = l.FeatureKd.Weight,
            FeatureSchedule = l.FeatureKd.Schedule,
            StudentFeature = l.FeatureKd.StudentIndex ?? -1,
            TeacherFeature = l.FeatureKd.TeacherIndex ?? -1,
            ScheduleEpochs = o.Train.MaxEpochs,
        };
    }
}

/// <summary>
/// Distillation of a bottom-up (CIF/CAF) student from frozen bottom-up teachers. Per teacher, the six field terms of
/// <see cref="CifCafDistillation"/> (confidence: binary KL divergence from the teacher's sigmoid; vectors and scales:
/// L1 to the teacher's, weighted by its confidence), named loss_kd/NAME/cif.c ... loss_kd/NAME/caf.scales, each
/// scaled by logit_kd.weight x teacher weight x logit_weight x the kind's weight x the schedule factor; and, with
/// feature KD, loss_fea/NAME: a 1x1 adapter (<see cref="FeatureKDLoss"/>) maps the chosen student backbone output onto
/// the teacher's channels, compared with the teacher's chosen output sampled at the student's feature cells, scaled by
/// feature_kd.weight x teacher weight x feature_weight x the schedule factor. A teacher whose field (feature) weight is 0
/// in an epoch gives no field (feature) terms then, and one with neither is not run.
/// The adapters train with the student (<see cref="Parameters"/>) and are checkpointed under kd.NAME. (<see cref="Modules"/>).
/// </summary>
public sealed class BottomupDistiller : IDisposable
{
    private readonly BottomupDistillationSettings _settings;
    private readonly BottomupPoseEstimator _student;
    private readonly List<BottomupTeacher> _teachers;
    private readonly Dictionary<string, FeatureKDLoss> _adapters = new(StringComparer.Ordinal);
    private readonly int _studentFeature;
    private readonly int[] _teacherFeature;
    private readonly bool _ownsTeachers;
    private readonly CifCafDistillation _fields;

    /// <param name="student">The network being trained: it sizes the feature adapters and fixes the field grid.</param>
    /// <param name="teachers">Frozen teachers, owned by the distiller (disposed with it, or when it refuses them) unless <paramref name="ownsTeachers"/> is false.</param>
    /// <param name="channelsLast">The student's features are channels-last, so the adapters' 1x1 convs are too.</param>
    public BottomupDistiller(BottomupDistillationSettings settings, BottomupPoseEstimator student, IReadOnlyList<BottomupTeacher> teachers,
        bool channelsLast = false, bool ownsTeachers = true)
    {
        _settings = settings;
        _student = student;
        _teachers = [.. teachers];
        _ownsTeachers = ownsTeachers;
        _fields = new CifCafDistillation
        {
            ConfidenceWeight = settings.ConfidenceWeight,
            VectorWeight = settings.VectorWeight,
            ScaleWeight = settings.ScaleWeight,
        };
        try
        {
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var t in _teachers)
            {
                if (!names.Add(t.Name)) throw new TrainingException($"teachers: two teachers are named '{t.Name}'");
                t.CheckGrid(student);
            }
            _studentFeature = FeatureIndex("losses.feature_kd.student_index", settings.StudentFeature, student.Backbone.OutChannels.Length, "student");
            _teacherFeature = new int[_teachers.Count];
            var device = student.Parameters().FirstOrDefault()?.Device ?? Device.Cpu;
            for (int i = 0; i < _teachers.Count; i++)
            {
                var t = _teachers[i];
                if (!(settings.FeatureWeight > 0 && t.Weights.FeatureWeight > 0)) continue;
                _teacherFeature[i] = FeatureIndex("losses.feature_kd.teacher_index", settings.TeacherFeature, t.Model.Backbone.OutChannels.Length, $"teacher '{t.Name}'");
                var fk = new FeatureKDLoss(student.Backbone.OutChannels[_studentFeature], t.Model.Backbone.OutChannels[_teacherFeature[i]], 1.0);
                _adapters[t.Name] = fk;
                fk.To(device);
                // Its 1x1 alignment conv runs on the student's (then channels-last) features.
                if (channelsLast) fk.ToChannelsLast();
            }
        }
        catch
        {
            // A refused setup still frees what the distiller was given to own.
            Dispose();
            throw;
        }
    }

    private static int FeatureIndex(string key, int index, int count, string whose)
    {
        int i = index < 0 ? count + index : index;
        if (i < 0 || i >= count)
            throw new TrainingException($"{key}: {index} is out of range; the {whose} backbone returns {count} feature map(s) (use 0..{count - 1} or -1..-{count})");
        return i;
    }

    public BottomupDistillationSettings Settings => _settings;

    public IReadOnlyList<BottomupTeacher> Teachers => _teachers;

    /// <summary>The 1x1 alignment of student to teacher features, by teacher name (teachers with feature KD only).</summary>
    public IReadOnlyDictionary<string, FeatureKDLoss> Adapters => _adapters;

    /// <summary>Trainable parameters the distiller adds to the student's (the feature adapters).</summary>
    public IEnumerable<Tensor> Parameters() => _adapters.Values.SelectMany(f => f.Parameters());

    /// <summary>The modules a checkpoint stores under kd.NAME.: the feature adapters.</summary>
    public IEnumerable<(string Name, Module Module)> Modules()
    {
        foreach (var (name, fk) in _adapters) yield return (name, fk);
    }

    /// <summary>The weight of teacher <paramref name="t"/>'s field terms (before the kind's weight) in 0-based <paramref name="epoch"/>.</summary>
    public double FieldWeightOf(int t, int epoch)
    {
        var w = _teachers[t].Weights;
        return _settings.FieldWeight * w.Weight * w.LogitWeight * _settings.FieldSchedule.Factor(epoch, _settings.ScheduleEpochs);
    }

    /// <summary>The weight of teacher <paramref name="t"/>'s feature term in 0-based <paramref name="epoch"/>.</summary>
    public double FeatureWeightOf(int t, int epoch)
    {
        var w = _teachers[t].Weights;
        return _settings.FeatureWeight * w.Weight * w.FeatureWeight * _settings.FeatureSchedule.Factor(epoch, _settings.ScheduleEpochs);
    }

    /// <summary>The names <see cref="Terms"/> gives for teacher <paramref name="t"/> when all its weights are positive.</summary>
    public IEnumerable<string> TermNamesOf(int t)
    {
        var name = _teachers[t].Name;
        foreach (var k in _fields.TermNames) yield return $"loss_kd/{name}/{k["kd.".Length..]}";
        if (_adapters.ContainsKey(name)) yield return $"loss_fea/{name}";
    }

    /// <summary>
    /// Every teacher's weighted distillation terms for one batch. The teachers read <paramref name="input"/> (the
    /// student's normalised images); <paramref name="studentFields"/> are the student's raw fields for it ("cif",
    /// "caf") and <paramref name="studentFeatures"/> its backbone outputs (needed with feature KD). The caller adds the
    /// terms to the ground-truth ones and disposes them.
    /// </summary>
    public Dictionary<string, Tensor> Terms(Tensor input, Dictionary<string, Tensor> studentFields, IReadOnlyList<Tensor>? studentFeatures, int epoch)
    {
        if (_adapters.Count > 0 && studentFeatures is null)
            throw new ArgumentException("feature KD needs the student's backbone features (BottomupPoseEstimator.ForwardWithFeatures)", nameof(studentFeatures));
        var terms = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        for (int t = 0; t < _teachers.Count; t++)
        {
            var teacher = _teachers[t];
            double wField = FieldWeightOf(t, epoch);
            bool feature = _adapters.TryGetValue(teacher.Name, out var fk);
            double wFeature = feature ? FeatureWeightOf(t, epoch) : 0;
            if (wField <= 0 && wFeature <= 0) continue;
            using var scope = torch.NewDisposeScope();
            var outs = teacher.Forward(input, _student.Mean, _student.Std);
            if (wField > 0)
            {
                var (student, reference) = CommonCells(studentFields, outs.Heads);
                foreach (var (k, v) in _fields.Forward(student, reference))
                    terms[$"loss_kd/{teacher.Name}/{k["kd.".Length..]}"] = (v * wField).MoveToOuterDisposeScope();
            }
            if (wFeature > 0)
            {
                var fs = studentFeatures![_studentFeature];
                var ft = OnStudentCells(outs.Features[_teacherFeature[t]], teacher.Model.Backbone.OutStrides[_teacherFeature[t]],
                    fs.Size(2), fs.Size(3), _student.Backbone.OutStrides[_studentFeature]);
                terms[$"loss_fea/{teacher.Name}"] = (fk!.Forward(fs, ft) * wFeature).MoveToOuterDisposeScope();
            }
        }
        return terms;
    }

    /// <summary>
    /// Both models' fields on the cells both have: with equal strides cell (i, j) is input pixel (i, j) x stride in
    /// either, so a map a row or column larger (another backbone's rounding) loses its last ones.
    /// </summary>
    private static (Dictionary<string, Tensor> Student, Dictionary<string, Tensor> Teacher) CommonCells(
        IReadOnlyDictionary<string, Tensor> student, IReadOnlyDictionary<string, Tensor> teacher)
    {
        var s = new Dictionary<string, Tensor>();
        var t = new Dictionary<string, Tensor>();
        foreach (var name in new[] { CifCafHead.CifName, CifCafHead.CafName })
        {
            var (a, b) = (student[name], teacher[name]);
            long h = Math.Min(a.Size(3), b.Size(3)), w = Math.Min(a.Size(4), b.Size(4));
            s[name] = a.Size(3) == h && a.Size(4) == w ? a : a.Narrow(3, 0, h).Narrow(4, 0, w);
            t[name] = b.Size(3) == h && b.Size(4) == w ? b : b.Narrow(3, 0, h).Narrow(4, 0, w);
        }
        return (s, t);
    }

    /// <summary>
    /// The teacher's feature map sampled at the student's feature cells: cell i of a stride-s map sits at input pixel
    /// i x s (3x3 stride-2 convolutions with padding 1 keep cell centres on even pixels), so student cell i reads
    /// teacher position i x s_student / s_teacher, bilinearly. Equal strides and sizes pass the map through; cells past
    /// the teacher's map read zeros.
    /// </summary>
    internal static Tensor OnStudentCells(Tensor teacher, int teacherStride, long h, long w, int studentStride)
    {
        if (teacherStride == studentStride && teacher.Size(2) == h && teacher.Size(3) == w) return teacher;
        using var scope = torch.NewDisposeScope();
        long n = teacher.Size(0), th = teacher.Size(2), tw = teacher.Size(3);
        var dev = teacher.Device;
        double ratio = (double)studentStride / teacherStride;
        // align_corners: grid -1 and 1 are the centres of the first and last teacher cells.
        Tensor Axis(long count, long tn) => torch.Arange(0, count, 1, DType.Float32, dev) * (ratio * 2.0 / Math.Max(tn - 1, 1)) - 1.0;
        var gx = Axis(w, tw).View(1, 1, w, 1).Expand(n, h, w, 1);
        var gy = Axis(h, th).View(1, h, 1, 1).Expand(n, h, w, 1);
        var grid = torch.Cat([gx, gy], 3);
        return Functional.GridSample(teacher.To(DType.Float32), grid, GridSampleMode.Bilinear, GridSamplePadding.Zeros, alignCorners: true)
            .MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        if (_ownsTeachers)
            foreach (var t in _teachers) t.Dispose();
        foreach (var f in _adapters.Values) f.Dispose();
    }
}
