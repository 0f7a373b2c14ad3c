using Distill.Pose.BottomUp;
using Distill.Pose.BottomUp.Heads;
using Distill.Pose.Keypoints;
using Distill.Pose.Models.Backbones;
using Distill.Torch;
using Distill.Training.Config.Schema;
using Distill.Training.Distillation;
using Distill.Training.Engine;

namespace Distill.Training.Tests.Distillation;

/// <summary>
/// Bottom-up distillation through its teachers and distiller: zero terms for a student that is its teacher, terms at
/// hand-computed values with their weights and schedules, gradients to the student and adapters only, and the grid rule
/// (equal strides cropped to common cells, other strides refused).
/// </summary>
public sealed class BottomupDistillerTests
{
    private static readonly KeypointSet Coco = KeypointSet.FromName("coco17");

    /// <summary>A tiny CSPNeXt with CIF/CAF heads on backbone stage <paramref name="stage"/> (stride 2^stage).</summary>
    private static BottomupPoseEstimator Tiny(ulong seed, double widen = 0.125, int stage = 2, int upsample = 1)
    {
        torch.ManualSeed(seed);
        var backbone = new CSPNeXt(0.167, widen, [stage]);
        return new BottomupPoseEstimator(backbone, new CifCafHead(CifCafMeta.Coco(), backbone.OutChannels[0], backbone.OutStrides[0], upsample));
    }

    /// <summary>Exact teacher options: no BN folding and default layout, so the teacher computes what the student does.</summary>
    private static TeacherOptions Exact(string name, double weight = 1, double logitWeight = 1, double featureWeight = 0) => new()
    {
        Name = name, Weight = weight, LogitWeight = logitWeight, FeatureWeight = featureWeight, FoldBn = false, ChannelsLast = false,
    };

    /// <summary>Makes every cell of every field the same raw components: zero head weights, the components as biases.</summary>
    private static void ConstantFields(BottomupPoseEstimator m, float[] cif, float[] caf)
    {
        using var noGrad = Autograd.NoGrad();
        foreach (var (head, comps) in new[] { (m.Head.Cif, cif), (m.Head.Caf, caf) })
        {
            head.Conv.Weight.Zero_();
            long n = head.Conv.Bias!.Size(0);
            int u2 = m.Head.Upsample * m.Head.Upsample;
            // Channel = (field x comps + comp) x u^2 + sub-pixel, pixel-shuffled into one output channel per component.
            var bias = Enumerable.Range(0, (int)n).Select(k => comps[k / u2 % comps.Length]).ToArray();
            using var b = torch.FromArray(bias, [n]);
            head.Conv.Bias.Copy_(b);
        }
    }

    // Student: conf logit 0 (p 0.5), vector (1, 2), scale 0. Teacher: conf ln 3 (p 0.75), vector (3, 2), scale 1.
    private static readonly float[] StudentCif = [0, 0, 1, 2, 0];
    private static readonly float[] TeacherCif = [5, (float)Math.Log(3), 3, 2, 1];
    private static readonly float[] SameCaf = [0, 0, 0, 0, 0, 0, 0, 0];
    private static readonly double Kl = 0.75 * Math.Log(1.5) + 0.25 * Math.Log(0.5);
    private static readonly double ScaleGap = Math.Log(1 + Math.E) - Math.Log(2);

    private static void Close(double expected, double actual) =>
        Assert.True(Math.Abs(expected - actual) <= 1e-5 * Math.Abs(expected) + 1e-7, $"expected {expected}, got {actual}");

    [Fact]
    public void TermsAreExactlyZeroWhenTheStudentIsTheTeacher()
    {
        using var student = Tiny(2);
        var model = Tiny(1);
        student.LoadStateDict(model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value));
        var settings = new BottomupDistillationSettings { FeatureWeight = 1 };
        using var kd = new BottomupDistiller(settings, student, [BottomupTeacher.Create(Exact("t", featureWeight: 1), model, Coco, Device.Cpu)]);
        // The student as the teacher runs: BatchNorm statistics, heads raw.
        student.Eval();
        student.Head.Train();
        using var scope = torch.NewDisposeScope();
        var x = torch.Randn([2, 3, 65, 65]);
        var outs = student.ForwardWithFeatures(x);
        var terms = kd.Terms(x, outs.Heads, outs.Features, epoch: 0);
        Assert.Equal(kd.TermNamesOf(0).OrderBy(k => k), terms.Keys.OrderBy(k => k));
        Assert.Equal(7, terms.Count);
        Assert.All(terms, kv => Assert.True(kv.Value.ItemDouble() == 0.0, $"{kv.Key} = {kv.Value.ItemDouble()}"));

        // The default teacher (BN folded, channels-last) computes the same network up to rounding.
        var folded = Tiny(3);
        folded.LoadStateDict(model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value));
        using var kd2 = new BottomupDistiller(new BottomupDistillationSettings(), student, [BottomupTeacher.Create(new TeacherOptions { Name = "f" }, folded, Coco, Device.Cpu)]);
        Assert.True(kd2.Teachers[0].IsChannelsLast);
        var near = kd2.Terms(x, outs.Heads, null, epoch: 0);
        Assert.Equal(6, near.Count);
        Assert.All(near, kv => Assert.True(Math.Abs(kv.Value.ItemDouble()) < 1e-3, $"{kv.Key} = {kv.Value.ItemDouble()}"));
    }

    [Fact]
    public void FieldTermsMatchHandComputedValuesWithTheirWeights()
    {
        using var student = Tiny(2);
        var teacher = Tiny(1);
        ConstantFields(student, StudentCif, SameCaf);
        ConstantFields(teacher, TeacherCif, SameCaf);
        var settings = new BottomupDistillationSettings { FieldWeight = 0.5, ConfidenceWeight = 0.4, ScaleWeight = 2 };
        using var kd = new BottomupDistiller(settings, student, [BottomupTeacher.Create(Exact("t", weight: 2, logitWeight: 1.5), teacher, Coco, Device.Cpu)]);
        using var scope = torch.NewDisposeScope();
        // 65x65 gives 9x9 fields at stride 8; batch 2 (each term divides by it).
        var x = torch.Randn([2, 3, 65, 65]);
        var terms = kd.Terms(x, student.Forward(x), null, epoch: 0);
        double w = 0.5 * 2 * 1.5, cells = 17 * 9 * 9;
        Close(w * 0.4 * cells * Kl, terms["loss_kd/t/cif.c"].ItemDouble());
        // |1 - 3| + |2 - 2| at the teacher's confidence 0.75.
        Close(w * cells * 0.75 * 2, terms["loss_kd/t/cif.vec"].ItemDouble());
        Close(w * 2 * cells * 0.75 * ScaleGap, terms["loss_kd/t/cif.scales"].ItemDouble());
        // Equal CAF confidences (both 0.5) and equal vectors and scales.
        Assert.Equal(0.0, terms["loss_kd/t/caf.c"].ItemDouble(), 6);
        Assert.Equal(0.0, terms["loss_kd/t/caf.vec"].ItemDouble());
    }

    [Fact]
    public void ScheduleWeightsFollowTheirEpochs()
    {
        using var student = Tiny(2);
        var teacher = Tiny(1);
        ConstantFields(student, StudentCif, SameCaf);
        ConstantFields(teacher, TeacherCif, SameCaf);
        var settings = new BottomupDistillationSettings
        {
            FieldWeight = 0.5, FieldSchedule = WeightSchedule.Linear,
            FeatureWeight = 0.01, FeatureSchedule = WeightSchedule.Cosine, ScheduleEpochs = 10,
        };
        using var kd = new BottomupDistiller(settings, student, [BottomupTeacher.Create(Exact("t", weight: 2, logitWeight: 1.5, featureWeight: 3), teacher, Coco, Device.Cpu)]);
        // Linear: 1 - e / 10; cosine: (1 + cos(pi e / 10)) / 2.
        Close(1.5, kd.FieldWeightOf(0, 0));
        Close(1.5 * 0.6, kd.FieldWeightOf(0, 4));
        Close(1.5 * 0.1, kd.FieldWeightOf(0, 9));
        Close(0.06, kd.FeatureWeightOf(0, 0));
        Close(0.03, kd.FeatureWeightOf(0, 5));
        Close(0.06 * (1 - Math.Cos(Math.PI / 10)) / 2, kd.FeatureWeightOf(0, 9));

        using var scope = torch.NewDisposeScope();
        var x = torch.Randn([1, 3, 65, 65]);
        var outs = student.ForwardWithFeatures(x);
        var at4 = kd.Terms(x, outs.Heads, outs.Features, epoch: 4);
        Close(1.5 * 0.6 * 17 * 81 * Kl, at4["loss_kd/t/cif.c"].ItemDouble());
        var fea0 = kd.Terms(x, outs.Heads, outs.Features, epoch: 0)["loss_fea/t"].ItemDouble();
        var fea5 = kd.Terms(x, outs.Heads, outs.Features, epoch: 5)["loss_fea/t"].ItemDouble();
        Assert.True(fea0 > 0);
        Close(fea0 / 2, fea5);
    }

    [Fact]
    public void ATeacherWithoutFieldWeightGivesOnlyItsFeatureTerm()
    {
        using var student = Tiny(2);
        using var kd = new BottomupDistiller(new BottomupDistillationSettings { FeatureWeight = 1 }, student,
            [BottomupTeacher.Create(Exact("t", logitWeight: 0, featureWeight: 1), Tiny(1), Coco, Device.Cpu)]);
        using var scope = torch.NewDisposeScope();
        var x = torch.Randn([1, 3, 65, 65]);
        var outs = student.ForwardWithFeatures(x);
        Assert.Equal(["loss_fea/t"], kd.Terms(x, outs.Heads, outs.Features, 0).Keys);
        // Feature KD needs the features.
        Assert.Throws<ArgumentException>(() => kd.Terms(x, outs.Heads, null, 0));
    }

    [Fact]
    public void GradientsReachTheStudentAndAdaptersButNotTheTeacher()
    {
        using var student = Tiny(2);
        // A wider teacher: its features have more channels, so the adapter has a 1x1 alignment conv.
        var teacherModel = Tiny(1, widen: 0.25);
        using var kd = new BottomupDistiller(new BottomupDistillationSettings { FeatureWeight = 0.1 }, student,
            [BottomupTeacher.Create(Exact("wide", featureWeight: 1), teacherModel, Coco, Device.Cpu)]);
        Assert.Equal(["wide"], kd.Modules().Select(m => m.Name));
        var adapter = kd.Parameters().ToList();
        Assert.Equal(2, adapter.Count);
        Assert.All(teacherModel.Parameters(), p => Assert.False(p.RequiresGrad));

        using var scope = torch.NewDisposeScope();
        var x = torch.Randn([2, 3, 65, 65]);
        var outs = student.ForwardWithFeatures(x);
        var terms = kd.Terms(x, outs.Heads, outs.Features, 0);
        Assert.Equal(7, terms.Count);
        Assert.All(terms, kv => Assert.True(kv.Value.ItemDouble() > 1e-4, $"{kv.Key} = {kv.Value.ItemDouble()}"));
        terms.Values.Aggregate((a, b) => a + b).Backward();

        static double GradNorm(Tensor p) => p.Grad is { } g ? g.Abs().Sum().ItemDouble() : 0;
        Assert.True(GradNorm(student.Head.Cif.Conv.Weight) > 0);
        Assert.True(GradNorm(student.Head.Caf.Conv.Weight) > 0);
        // The feature term reaches the backbone's last stage, and the adapter's weight and bias.
        Assert.True(student.Backbone.Parameters().Sum(GradNorm) > 0);
        Assert.All(adapter, p => Assert.True(GradNorm(p) > 0));
        Assert.All(teacherModel.Parameters(), p => Assert.Null(p.Grad));
    }

    [Fact]
    public void ATeacherAtAnotherStrideIsRefusedNamingBothStrides()
    {
        using var student = Tiny(2);
        var teacher = BottomupTeacher.Create(Exact("fine"), Tiny(1, stage: 1), Coco, Device.Cpu);
        var e = Assert.Throws<TrainingException>(() => new BottomupDistiller(new BottomupDistillationSettings(), student, [teacher]));
        Assert.Contains("teachers.fine", e.Message);
        Assert.Contains("stride 4", e.Message);
        Assert.Contains("stride 8", e.Message);
        Assert.Contains("model.head.upsample", e.Message);
    }

    [Fact]
    public void EqualStridesWithDifferentFieldSizesCompareTheCommonCells()
    {
        // At 64x64 the student's stride-8 fields are 8x8; a stride-16 teacher upsampled by 2 gives 2 x 4 - 1 = 7x7.
        using var student = Tiny(2);
        var teacher = Tiny(1, stage: 3, upsample: 2);
        Assert.Equal(8, teacher.Stride);
        ConstantFields(student, StudentCif, SameCaf);
        ConstantFields(teacher, TeacherCif, SameCaf);
        using var kd = new BottomupDistiller(new BottomupDistillationSettings(), student, [BottomupTeacher.Create(Exact("t"), teacher, Coco, Device.Cpu)]);
        using var scope = torch.NewDisposeScope();
        var x = torch.Randn([1, 3, 64, 64]);
        var fields = student.Forward(x);
        Assert.Equal(8, fields["cif"].Size(3));
        var terms = kd.Terms(x, fields, null, 0);
        Close(17 * 7 * 7 * Kl, terms["loss_kd/t/cif.c"].ItemDouble());
    }

    [Fact]
    public void TeacherFeaturesAreSampledAtTheStudentsCells()
    {
        using var scope = torch.NewDisposeScope();
        // Each teacher cell holds its column index.
        var cols = torch.Arange(0, 9, 1, DType.Float32, Device.Cpu).View(1, 1, 1, 9).Expand(1, 1, 9, 9).Contiguous();
        // Stride 4 under a stride-8 student: student column j is teacher column 2j.
        var down = BottomupDistiller.OnStudentCells(cols, 4, 5, 5, 8);
        Assert.Equal(new float[] { 0, 2, 4, 6, 8 }, down.Select(2, 0).Flatten().ToArray<float>());
        // Stride 16 under a stride-8 student: teacher column j / 2, bilinear.
        var coarse = torch.Arange(0, 3, 1, DType.Float32, Device.Cpu).View(1, 1, 1, 3).Expand(1, 1, 3, 3).Contiguous();
        var up = BottomupDistiller.OnStudentCells(coarse, 16, 5, 5, 8);
        var row = up.Select(2, 4).Flatten().ToArray<float>();
        Assert.Equal(new[] { 0, 0.5, 1, 1.5, 2 }, row.Select(v => Math.Round(v, 5)));
    }

    [Fact]
    public void ATeacherWithItsOwnNormalisationSeesTheSameImage()
    {
        // A teacher trained on raw 0..255 pixels reads the student's ImageNet-normalised input back as pixels.
        torch.ManualSeed(5);
        var bb = new CSPNeXt(0.167, 0.125, [2]);
        var raw = new BottomupPoseEstimator(bb, new CifCafHead(CifCafMeta.Coco(), bb.OutChannels[0], 8)) { Mean = [0, 0, 0], Std = [1, 1, 1] };
        using var teacher = BottomupTeacher.Create(Exact("raw"), raw, Coco, Device.Cpu);
        double[] mean = [123.675, 116.28, 103.53], std = [58.395, 57.12, 57.375];
        using var scope = torch.NewDisposeScope();
        var pixels = torch.Rand([1, 3, 33, 33]) * 255;
        var m = torch.FromArray(mean.Select(v => (float)v).ToArray(), [1, 3, 1, 1]);
        var s = torch.FromArray(std.Select(v => (float)v).ToArray(), [1, 3, 1, 1]);
        var seen = teacher.Forward((pixels - m) / s, mean, std).Heads["cif"];
        using var noGrad = Autograd.NoGrad();
        var direct = raw.Forward(pixels)["cif"];
        Assert.True((seen - direct).Abs().Max().ItemDouble() < 1e-3 * direct.Abs().Max().ItemDouble());
    }

    [Fact]
    public void BadTeacherSettingsNameTheirKey()
    {
        using var student = Tiny(2);
        var onnx = Assert.Throws<TrainingException>(() => BottomupTeacher.Create(new TeacherOptions { Name = "o", Runtime = TeacherRuntime.OnnxRuntime }, Tiny(1), Coco, Device.Cpu));
        Assert.Contains("teachers.o.runtime", onnx.Message);

        var t = BottomupTeacher.Create(Exact("t", featureWeight: 1), Tiny(1), Coco, Device.Cpu);
        var e = Assert.Throws<TrainingException>(() => new BottomupDistiller(new BottomupDistillationSettings { FeatureWeight = 1, TeacherFeature = 3 }, student, [t]));
        Assert.Contains("losses.feature_kd.teacher_index", e.Message);
        Assert.Contains("1 feature map", e.Message);

        // Another keypoint set: fields cannot be compared one by one.
        var mpii = KeypointSet.FromName("mpii16");
        torch.ManualSeed(1);
        var bb = new CSPNeXt(0.167, 0.125, [2]);
        var other = BottomupTeacher.Create(Exact("m"), new BottomupPoseEstimator(bb, new CifCafHead(CifCafMeta.FromKeypointSet(mpii), bb.OutChannels[0], 8)), mpii, Device.Cpu);
        var k = Assert.Throws<TrainingException>(() => new BottomupDistiller(new BottomupDistillationSettings(), student, [other]));
        Assert.Contains("teachers.m", k.Message);
        Assert.Contains("keypoint set", k.Message);
    }
}
