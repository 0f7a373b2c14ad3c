using Distill.Pose.Codecs;
using Distill.Pose.Keypoints;
using Distill.Pose.Models;
using Distill.Pose.Transforms;
using Distill.Torch;
using Distill.Torch.Nn;
using Distill.Training.Config.Schema;
using Distill.Training.Distillation;
using Distill.Training.Tests.Config;

namespace Distill.Training.Tests.Distillation;

/// <summary>
/// teachers[].sources in the distiller: on a batch of two sources (samples 0 and 2 from coco, 1 and 3 from mpii) a
/// teacher's logit term is its KD averaged over the samples of its sources alone, checked against the formula
/// evaluated in plain doubles from the teacher's targets and the student's logits.
/// </summary>
public sealed class TeacherSourcesTests : IDisposable
{
    private const string Arch =
        "input_size: [48, 64], backbone: {type: CSPNeXt, deepen_factor: 0.167, widen_factor: 0.125}, " +
        "head: {type: RTMCCHead, gau: {hidden_dims: 32, s: 16}}, codec: {type: SimCCLabel, sigma: [1.5, 1.5], normalize: false}";

    private static readonly string[] Mixed = ["coco", "mpii", "coco", "mpii"];

    private readonly ConfigFiles _files = new();

    public void Dispose() => _files.Dispose();

    private TopdownPoseEstimator Build(string set, ulong seed, out KeypointSet keypoints)
    {
        torch.ManualSeed(seed);
        var (model, kps) = ModelFactory.Build(ModelConfig.Load(_files.Write($"{set}-{seed}.yaml", $"model: {{keypoint_set: {set}, {Arch}}}")));
        keypoints = kps;
        // The head's own start (weights of 0.001 and 0.01) gives logits near 1e-8 and so uniform distributions, whose
        // KL vanishes in float32. Weights of variance 1 / fan-in keep activations of order 1: peaked distributions
        // that differ from network to network.
        using (Autograd.NoGrad())
            foreach (var (name, p) in model.NamedParameters())
                if (name.StartsWith("head.", StringComparison.Ordinal) && p.Dim >= 2)
                {
                    double bound = Math.Sqrt(3.0 * p.Size(0) / p.NumEl);
                    p.Uniform_(-bound, bound);
                }
        // Fresh BN statistics let the eval-mode activations shrink layer by layer (to about 1e-9 at the last stage):
        // take them from one batch, so that eval-mode networks work at the scale they would after training.
        foreach (var (_, m) in model.NamedModules())
            if (m is BatchNorm2d bn) bn.Momentum = 1.0;
        model.Train();
        using (Autograd.NoGrad())
        using (var calib = torch.NewDisposeScope())
            model.Forward(torch.Randn([8, 3, 64, 48]));
        model.Eval();
        return model;
    }

    /// <summary>The student (eval mode, so that a second forward gives the same logits) and a distiller with a coco17 and an mpii16 teacher.</summary>
    private (TopdownPoseEstimator Student, Distiller Distiller) Setup(List<string>? cocoSources, List<string>? mpiiSources, bool maskUnknown = true)
    {
        var student = Build("unified21", 1, out var set);
        student.Eval();
        var distiller = new Distiller(new DistillationSettings { Beta = 10, MaskUnknown = maskUnknown }, student, Device.Cpu, channelsLast: false);
        foreach (var (name, sources, seed) in new[] { ("coco17", cocoSources, 2UL), ("mpii16", mpiiSources, 3UL) })
        {
            var model = Build(name, seed, out var teacherSet);
            distiller.Add(TeacherModel.Create(new TeacherOptions { Name = name, Weight = 0.5, Sources = sources }, model, teacherSet, set, Device.Cpu));
        }
        return (student, distiller);
    }

    private static (Tensor Input, Dictionary<string, Tensor> Targets, TeacherViews Views) Batch(TopdownPoseEstimator student, IReadOnlyList<string> sources)
    {
        torch.ManualSeed(7);
        int b = sources.Count;
        var codec = (SimCCLabel)student.Codec;
        var input = torch.Randn([b, 3, 64, 48]);
        var targets = new Dictionary<string, Tensor>
        {
            [TargetNames.KeypointXLabels] = Functional.Softmax(torch.Randn([b, 21, codec.XBins]), -1),
            [TargetNames.KeypointYLabels] = Functional.Softmax(torch.Randn([b, 21, codec.YBins]), -1),
            [TargetNames.KeypointWeights] = torch.Ones([b, 21]),
        };
        // Each teacher sees its own crops; the affines are the identity (same 48x64 crop geometry as the student).
        var identity = (IReadOnlyList<AffineMatrix>)Enumerable.Repeat(AffineMatrix.Identity, b).ToList();
        var views = new TeacherViews([torch.Randn([b, 3, 64, 48]), torch.Randn([b, 3, 64, 48])], [identity, identity], sources.ToList());
        return (input, targets, views);
    }

    /// <summary>
    /// The logit term of teacher <paramref name="t"/> by its definition, in doubles: over the kept samples n and the
    /// student's K keypoints, mask(n, k) * (KL_x + KL_y), divided by (kept samples x K), times the teacher's weight.
    /// </summary>
    private static double Expected(Distiller d, TopdownPoseEstimator student, Tensor input, TeacherViews views, int t, bool[] kept, double weight)
    {
        using var scope = torch.NewDisposeScope();
        Tensor sx, sy;
        using (Autograd.NoGrad())
        {
            var outs = student.Forward(input);
            sx = outs["simcc_x"];
            sy = outs["simcc_y"];
        }
        using var tt = d.Teachers[t].Targets(views.Inputs[t], views.StudentToTeacher[t], (SimCCLabel)student.Codec, d.LogitKd);
        long n = sx.Size(0), k = sx.Size(1);
        var mask = tt.Mask.ToArray<float>();
        double sum = 0;
        foreach (var (s, p) in new[] { (sx, tt.ProbX), (sy, tt.ProbY) })
        {
            long bins = s.Size(2);
            var logits = s.ToArray<float>();
            var probs = p.ToArray<float>();
            for (int i = 0; i < n; i++)
            {
                if (!kept[i]) continue;
                for (int j = 0; j < k; j++)
                {
                    long at = (i * k + j) * bins;
                    double max = double.NegativeInfinity;
                    for (long b = 0; b < bins; b++) max = Math.Max(max, 10.0 * logits[at + b]);
                    double z = 0;
                    for (long b = 0; b < bins; b++) z += Math.Exp(10.0 * logits[at + b] - max);
                    double kl = 0;
                    for (long b = 0; b < bins; b++)
                    {
                        double q = probs[at + b];
                        if (q > 0) kl += q * (Math.Log(q) - (10.0 * logits[at + b] - max - Math.Log(z)));
                    }
                    sum += mask[i * k + j] * kl;
                }
            }
        }
        return weight * sum / (kept.Count(x => x) * k);
    }

    [Fact]
    public void EachTeachersTermIsItsKdAveragedOverTheSamplesOfItsSources()
    {
        using var scope = torch.NewDisposeScope();
        var (student, d) = Setup(["coco"], ["mpii"]);
        using var _ = student;
        using var __ = d;
        var (input, targets, views) = Batch(student, Mixed);
        var (terms, outs) = d.Forward(input, targets, views, epoch: 0);
        outs.Dispose();
        double coco = terms["loss_kd/coco17"].ItemDouble(), mpii = terms["loss_kd/mpii16"].ItemDouble();
        double expCoco = Expected(d, student, input, views, 0, [true, false, true, false], 0.5);
        double expMpii = Expected(d, student, input, views, 1, [false, true, false, true], 0.5);
        Assert.True(expCoco > 0 && expMpii > 0, $"{expCoco} {expMpii}");
        Assert.Equal(expCoco, coco, expCoco * 1e-4);
        Assert.Equal(expMpii, mpii, expMpii * 1e-4);
        // Not what the teacher would say over the whole batch: the selection changes the value.
        double allCoco = Expected(d, student, input, views, 0, [true, true, true, true], 0.5);
        Assert.True(Math.Abs(allCoco - coco) > 1e-3 * coco, $"whole batch {allCoco}, coco samples only {coco}");
    }

    [Fact]
    public void SourcesCoveringTheBatchGiveExactlyTheTermsOfTeachersWithoutSources()
    {
        using var scope = torch.NewDisposeScope();
        var (s1, plain) = Setup(null, null);
        var (s2, covering) = Setup(["coco", "mpii"], ["mpii", "coco"]);
        using var _ = s1;
        using var __ = s2;
        using var ___ = plain;
        using var ____ = covering;
        // Tests run in parallel and share libtorch's global generator, so two builds under the same seed can still
        // draw different weights: give the second set the first one's weights outright.
        using (Autograd.NoGrad())
        {
            s2.LoadStateDict(s1.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value));
            for (int t = 0; t < plain.Teachers.Count; t++)
                covering.Teachers[t].Model.LoadStateDict(plain.Teachers[t].Model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value));
        }
        var (input, targets, views) = Batch(s1, Mixed);
        var (a, oa) = plain.Forward(input, targets, views, epoch: 0);
        var (b, ob) = covering.Forward(input, targets, views, epoch: 0);
        // The term without sources is the loss's plain reduction, as before the option existed.
        using (var tt = plain.Teachers[0].Targets(views.Inputs[0], views.StudentToTeacher[0], (SimCCLabel)s1.Codec, plain.LogitKd))
            Assert.Equal((plain.LogitKd.Forward(oa["simcc_x"], oa["simcc_y"], tt.ProbX, tt.ProbY, tt.Mask) * 0.5).ItemDouble(), a["loss_kd/coco17"].ItemDouble());
        oa.Dispose();
        ob.Dispose();
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        foreach (var key in a.Keys) Assert.Equal(a[key].ItemDouble(), b[key].ItemDouble());
        Assert.True(a["loss_kd/coco17"].ItemDouble() > 0);
    }

    [Fact]
    public void ABatchWithoutAnySampleOfATeachersSourcesGetsExactlyZeroFromItAndAFiniteGradient()
    {
        using var scope = torch.NewDisposeScope();
        var (student, d) = Setup(["coco"], ["mpii"]);
        using var _ = student;
        using var __ = d;
        var (input, targets, views) = Batch(student, ["coco", "coco", "coco", "coco"]);
        var (terms, outs) = d.Forward(input, targets, views, epoch: 0);
        outs.Dispose();
        var mpii = terms["loss_kd/mpii16"];
        Assert.Equal(0.0, mpii.ItemDouble());
        Assert.True(mpii.RequiresGrad);
        Assert.True(terms["loss_kd/coco17"].ItemDouble() > 0);
        // The zero term alone: a gradient of exactly zero, not NaN.
        mpii.Backward(retainGraph: true);
        var grads = student.Parameters().Where(p => p.Grad is not null).Select(p => p.Grad!).ToList();
        Assert.NotEmpty(grads);
        Assert.All(grads, g => Assert.Equal(0.0, g.Abs().Max().ItemDouble()));
        // With the other terms: finite everywhere.
        terms.Values.Aggregate((x, y) => x + y).Backward();
        Assert.All(student.Parameters().Where(p => p.Grad is not null), p => Assert.True(double.IsFinite(p.Grad!.Abs().Sum().ItemDouble())));
    }

    [Fact]
    public void ATeacherWithSourcesNeedsTheSampleSourcesOfTheBatch()
    {
        using var scope = torch.NewDisposeScope();
        var (student, d) = Setup(["coco"], null);
        using var _ = student;
        using var __ = d;
        var (input, targets, views) = Batch(student, Mixed);
        var e = Assert.Throws<InvalidOperationException>(() => d.Forward(input, targets, views with { SampleSources = null }, epoch: 0));
        Assert.Contains("teacher 'coco17' speaks for the images of coco only", e.Message);
    }
}
