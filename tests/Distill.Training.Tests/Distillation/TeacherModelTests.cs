using Distill.Pose.Losses;
using Distill.Pose.Codecs;
using Distill.Pose.Keypoints;
using Distill.Pose.Models;
using Distill.Pose.Transforms;
using Distill.TestSupport;
using Distill.Torch;
using Distill.Torch.Nn;
using Distill.Training.Config;
using Distill.Training.Config.Schema;
using Distill.Training.Distillation;
using Distill.Training.Models;

namespace Distill.Training.Tests.Distillation;

/// <summary>
/// A teacher frozen for speed (BN folded, channels-last, inference mode) must teach exactly what the plain network
/// (BN kept, default layout, no_grad) teaches: the speed-ups only reorder floating-point work.
/// </summary>
public class TeacherModelTests
{
    private static TopdownPoseEstimator BuildMpiiTeacher(out KeypointSet set)
    {
        var options = ModelConfig.Load(Path.Combine(SharedData.RepoRoot, "configs", "teachers", "rtmpose-m_mpii.yaml"));
        var (model, kps) = ModelFactory.Build(options);
        set = kps;
        return model;
    }

    /// <summary>Non-trivial BN statistics and affines, so that folding has something to fold.</summary>
    private static void RandomizeBatchNorm(Module model)
    {
        using var _ = Autograd.NoGrad();
        foreach (var (_, m) in model.NamedModules())
        {
            if (m is not BatchNorm2d bn) continue;
            bn.RunningMean.Uniform_(-0.2, 0.2);
            bn.RunningVar.Uniform_(0.5, 1.5);
            bn.Weight.Uniform_(0.5, 1.5);
            bn.Bias.Uniform_(-0.2, 0.2);
        }
    }

    [Fact]
    public void FoldedChannelsLastTeacherTeachesWhatThePlainTeacherTeaches()
    {
        using var scope = torch.NewDisposeScope();
        torch.ManualSeed(3);
        var student = KeypointSet.FromName("unified21");
        var plainModel = BuildMpiiTeacher(out var mpii);
        RandomizeBatchNorm(plainModel);
        var fastModel = BuildMpiiTeacher(out _);
        fastModel.LoadStateDict(plainModel.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value));

        using var plain = TeacherModel.Create(new TeacherOptions { Name = "mpii", FoldBn = false, ChannelsLast = false }, plainModel, mpii,
            student, Device.Cpu);
        plain.UseInferenceMode = false;
        using var fast = TeacherModel.Create(new TeacherOptions { Name = "mpii" }, fastModel, mpii, student, Device.Cpu);

        // What the options promise actually happened: no BN left and NHWC conv weights on one side, neither on the other.
        Assert.True(fast.IsChannelsLast);
        Assert.False(plain.IsChannelsLast);
        Assert.DoesNotContain(fast.Model.NamedModules(), m => m.Module is BatchNorm2d);
        Assert.Contains(plain.Model.NamedModules(), m => m.Module is BatchNorm2d);
        var stem = fast.Model.Parameters().First(p => p.Dim == 4 && p.Size(2) == 3);
        Assert.True(stem.IsContiguous(MemoryFormat.ChannelsLast));
        Assert.False(stem.IsContiguous());
        Assert.All(fast.Model.Parameters(), p => Assert.False(p.RequiresGrad));

        var x = torch.Randn([2, 3, 256, 256]);
        Dictionary<string, Tensor> a, b;
        using (Autograd.NoGrad())
            a = plain.Model.Forward(x);
        using (Autograd.InferenceMode())
            b = fast.Model.Forward(x.Contiguous(MemoryFormat.ChannelsLast));
        foreach (var name in new[] { "simcc_x", "simcc_y" })
        {
            double scale = a[name].Abs().Max().ItemDouble();
            double diff = (a[name] - b[name]).Abs().Max().ItemDouble();
            Assert.True(scale > 1e-3, $"{name}: degenerate outputs (max |logit| {scale})");
            Assert.True(diff <= 1e-4 * scale, $"{name}: max |plain - fast| = {diff:G3} for max |logit| {scale:G3}");
        }

        // The student's 192x256 crop seen through the 256x256 teacher crop (x shifted by 32 px), and a teacher crop
        // 1.25x larger about a shifted centre, where interpolation between teacher bins and the inside-mass mask matter.
        var studentCodec = new SimCCLabel((192, 256), (4.9, 5.66), 2.0, normalize: false);
        var maps = new[] { new AffineMatrix(1, 0, 32, 0, 1, 0), new AffineMatrix(0.8, 0, 41.3, 0, 0.8, 30.7) };
        using var tp = plain.Targets(x, maps, studentCodec, new LogitKDLoss(10.0));
        using var tf = fast.Targets(x, maps, studentCodec, new LogitKDLoss(10.0));
        Assert.Equal(new long[] { 2, 21, 384 }, tp.ProbX.Shape);
        Assert.Equal(new long[] { 2, 21, 512 }, tp.ProbY.Shape);
        Assert.True((tp.ProbX - tf.ProbX).Abs().Max().ItemDouble() <= 1e-4);
        Assert.True((tp.ProbY - tf.ProbY).Abs().Max().ItemDouble() <= 1e-4);
        Assert.Equal(tp.Mask.ToArray<float>(), tf.Mask.ToArray<float>());
        // unified21 keypoints 0-4 (nose, eyes, ears) are unknown to an MPII teacher: masked out whatever the geometry.
        var mask = tf.Mask.ToArray<float>();
        for (int n = 0; n < 2; n++)
            for (int k = 0; k <= 4; k++) Assert.Equal(0f, mask[n * 21 + k]);
    }
}
