using Distill.Pose.Codecs;
using Distill.Pose.Keypoints;
using Distill.Pose.Losses;
using Distill.Pose.Models;
using Distill.Pose.Transforms;
using Distill.TestSupport;
using Distill.Torch;
using Distill.Torch.Nn;
using Distill.Training.Config;
using Distill.Training.Config.Schema;
using Distill.Training.Distillation;
using Distill.Training.Engine;

namespace Distill.Training.Tests.Distillation;

/// <summary>
/// A teacher run in ONNX Runtime (an in-memory export of the frozen network) teaches what the same teacher run in
/// libtorch teaches, and the runtime choice follows the config: auto takes ONNX Runtime on the CPU unless the teacher
/// must give features, onnxruntime refuses what it cannot do.
/// </summary>
public class OnnxRuntimeTeacherTests
{
    private static TopdownPoseEstimator BuildMpiiTeacher(out KeypointSet set) => BuildTeacher("rtmpose-m_mpii.yaml", out set);

    private static TopdownPoseEstimator BuildTeacher(string config, out KeypointSet set)
    {
        var options = ModelConfig.Load(Path.Combine(SharedData.RepoRoot, "configs", "teachers", config));
        var (model, kps) = ModelFactory.Build(options);
        set = kps;
        return model;
    }

    /// <summary>Two copies of one randomly initialised teacher with non-trivial BN statistics.</summary>
    private static (TopdownPoseEstimator A, TopdownPoseEstimator B, KeypointSet Set) TwoCopies(string config = "rtmpose-m_mpii.yaml")
    {
        var a = BuildTeacher(config, out var set);
        using (Autograd.NoGrad())
        {
            foreach (var (_, m) in a.NamedModules())
            {
                if (m is not BatchNorm2d bn) continue;
                bn.RunningMean.Uniform_(-0.2, 0.2);
                bn.RunningVar.Uniform_(0.5, 1.5);
                bn.Weight.Uniform_(0.5, 1.5);
                bn.Bias.Uniform_(-0.2, 0.2);
            }
        }
        var b = BuildTeacher(config, out _);
        b.LoadStateDict(a.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value));
        return (a, b, set);
    }

    [Fact]
    public void OnnxRuntimeTargetsEqualLibtorchTargetsWithin1e4()
    {
        using var scope = torch.NewDisposeScope();
        torch.ManualSeed(5);
        var student = KeypointSet.FromName("unified21");
        var (a, b, mpii) = TwoCopies();
        using var libtorch = TeacherModel.Create(new TeacherOptions { Name = "mpii" }, a, mpii, student, Device.Cpu);
        using var ort = TeacherModel.Create(new TeacherOptions { Name = "mpii", Runtime = TeacherRuntime.OnnxRuntime }, b, mpii, student, Device.Cpu);
        Assert.Equal(TeacherRuntime.Libtorch, libtorch.Runtime);
        Assert.Equal(TeacherRuntime.OnnxRuntime, ort.Runtime);

        // Batch 3 (the export has a dynamic batch), crops as the loader gives them; the student's 192x256 view through
        // a shifted and a scaled teacher crop, so interpolation between bins and the inside-mass mask both matter.
        var x = torch.Randn([3, 3, 256, 256]);
        var studentCodec = new SimCCLabel((192, 256), (4.9, 5.66), 2.0, normalize: false);
        var maps = new[] { new AffineMatrix(1, 0, 32, 0, 1, 0), new AffineMatrix(0.8, 0, 41.3, 0, 0.8, 30.7), new AffineMatrix(1.1, 0, -5, 0, 1.1, 12) };
        var kd = new LogitKDLoss(10.0);
        using var tl = libtorch.Targets(x, maps, studentCodec, kd);
        using var to = ort.Targets(x, maps, studentCodec, kd);
        Assert.Equal(new long[] { 3, 21, 384 }, to.ProbX.Shape);
        Assert.Equal(new long[] { 3, 21, 512 }, to.ProbY.Shape);
        double peak = tl.ProbX.Max().ItemDouble();
        Assert.True(peak > 1e-3, $"degenerate targets (max probability {peak})");
        double dx = (tl.ProbX - to.ProbX).Abs().Max().ItemDouble(), dy = (tl.ProbY - to.ProbY).Abs().Max().ItemDouble();
        Assert.True(dx <= 1e-4 && dy <= 1e-4, $"max |libtorch - onnxruntime|: x {dx:G3}, y {dy:G3}");
        Assert.Equal(tl.Mask.ToArray<float>(), to.Mask.ToArray<float>());
        // The targets leave as ordinary tensors the student's loss can keep for backward.
        Assert.False(to.ProbX.RequiresGrad);
    }

    /// <summary>The COCO teacher's input is not square (192x256) and the trainer's batches are larger than 3.</summary>
    [Fact]
    public void OnnxRuntimeTargetsOfANonSquareTeacherAtALargerBatchEqualLibtorchTargets()
    {
        using var scope = torch.NewDisposeScope();
        torch.ManualSeed(6);
        var student = KeypointSet.FromName("unified21");
        var (a, b, coco) = TwoCopies("rtmpose-m_coco.yaml");
        using var libtorch = TeacherModel.Create(new TeacherOptions { Name = "coco" }, a, coco, student, Device.Cpu);
        using var ort = TeacherModel.Create(new TeacherOptions { Name = "coco", Runtime = TeacherRuntime.OnnxRuntime }, b, coco, student, Device.Cpu);
        const int n = 12;
        var x = torch.Randn([n, 3, 256, 192]);
        var studentCodec = new SimCCLabel((192, 256), (4.9, 5.66), 2.0, normalize: false);
        var maps = Enumerable.Range(0, n).Select(i => new AffineMatrix(1 - 0.02 * i, 0, 3.0 * i, 0, 1 - 0.02 * i, -2.0 * i)).ToArray();
        var kd = new LogitKDLoss(10.0);
        using var tl = libtorch.Targets(x, maps, studentCodec, kd);
        using var to = ort.Targets(x, maps, studentCodec, kd);
        double dx = (tl.ProbX - to.ProbX).Abs().Max().ItemDouble(), dy = (tl.ProbY - to.ProbY).Abs().Max().ItemDouble();
        Assert.True(dx <= 1e-4 && dy <= 1e-4, $"max |libtorch - onnxruntime|: x {dx:G3}, y {dy:G3}");
        Assert.Equal(tl.Mask.ToArray<float>(), to.Mask.ToArray<float>());
    }

    [Fact]
    public void AutoTakesOnnxRuntimeOnTheCpuAndLibtorchWhenFeaturesAreNeeded()
    {
        using var scope = torch.NewDisposeScope();
        var student = KeypointSet.FromName("unified21");
        var options = new TeacherOptions { Name = "mpii", Runtime = TeacherRuntime.Auto };
        using (var t = TeacherModel.Create(options, BuildMpiiTeacher(out var set), set, student, Device.Cpu))
            Assert.Equal(TeacherRuntime.OnnxRuntime, t.Runtime);
        using (var t = TeacherModel.Create(options, BuildMpiiTeacher(out var set), set, student, Device.Cpu, needsFeatures: true))
        {
            Assert.Equal(TeacherRuntime.Libtorch, t.Runtime);
            Assert.Contains("feature KD", t.RuntimeReason);
            Assert.True(t.IsChannelsLast);
        }
    }

    [Fact]
    public void OnnxRuntimeIsRefusedByNameWhenTheTeacherMustGiveFeatures()
    {
        using var scope = torch.NewDisposeScope();
        var student = KeypointSet.FromName("unified21");
        var options = new TeacherOptions { Name = "mpii-teacher", Runtime = TeacherRuntime.OnnxRuntime };
        var e = Assert.Throws<TrainingException>(() =>
            TeacherModel.Create(options, BuildMpiiTeacher(out var set), set, student, Device.Cpu, needsFeatures: true));
        Assert.Contains("teachers.mpii-teacher", e.Message);
        Assert.Contains("feature KD", e.Message);
    }

    [Fact]
    public void TheRuntimeKeyBindsAndAWrongValueIsReportedWithItsChoices()
    {
        using var files = new Config.ConfigFiles();
        string Experiment(string runtime) => $$$"""
            model: {keypoint_set: coco17, input_size: [192, 256], backbone: {type: CSPNeXt}, head: {type: RTMCCHead}, codec: {type: SimCCLabel}}
            data:
              sources: [{name: coco, format: coco, ann_file: a.json, img_dir: img}]
            teachers:
              - {name: t, config: t.yaml, checkpoint: t.pth, runtime: {{{runtime}}}}
            """;
        var ok = ExperimentConfig.Load(files.Write("ok.yaml", Experiment("auto")));
        Assert.Equal(TeacherRuntime.Auto, ok.Teachers[0].Runtime);
        Assert.Equal(TeacherRuntime.Libtorch, new TeacherOptions().Runtime);
        var e = Assert.ThrowsAny<Exception>(() => ExperimentConfig.Load(files.Write("bad.yaml", Experiment("tensorrt"))));
        Assert.Contains("bad.yaml", e.Message);
        Assert.Contains("runtime", e.Message);
        Assert.Contains("onnxruntime", e.Message);
    }

    [Fact]
    public void ATeachersRuntimeMayChangeOnResumeLikeItsLayout()
    {
        Assert.True(Distill.Training.Checkpoints.ResumeConfig.IsChangeable("teachers.1.runtime"));
        Assert.True(Distill.Training.Checkpoints.ResumeConfig.IsChangeable("teachers.0.channels_last"));
        Assert.False(Distill.Training.Checkpoints.ResumeConfig.IsChangeable("teachers.0.weight"));
        Assert.False(Distill.Training.Checkpoints.ResumeConfig.IsChangeable("runtime"));
    }
}
