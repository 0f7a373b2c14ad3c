using Distill.Pose.Keypoints;
using Distill.Pose.Models.Checkpoints;
using Distill.TestSupport;
using Distill.TestSupport.Checkpoints;
using Distill.Torch;
using Distill.Training.Config.Schema;
using Distill.Training.Logging;
using Distill.Training.Teachers;
using Distill.Training.Tests.Engine;

namespace Distill.Training.Tests.Distillation;

/// <summary>
/// configs/distill/vitpose-b_to_rtmpose-t_unified.yaml with its ViTPose-B heatmap teacher stood in for by the narrowed
/// ViT fixture (ViTPose-S's modules at 4 layers of 192), given as a checkpoint of the original release's layout.
/// </summary>
[Collection(TrainerCollection.Name)]
public sealed class VitPoseTeacherTests : IDisposable
{
    private const string Fixture = "vit-tiny4_coco_256x192";

    private readonly TinyRun _run = new(seed: 31, images: 4, mpiiImages: 4);

    public void Dispose() => _run.Dispose();

    private static string Repo(params string[] parts) => Path.Combine([SharedData.RepoRoot, .. parts]).Replace('\\', '/');

    /// <summary>The fixture's network as a model config: the shipped ViTPose-S file with the fixture's sizes.</summary>
    private string TeacherConfig()
    {
        var path = Path.Combine(_run.Dir, "vit-tiny4.yaml");
        File.WriteAllText(path, $"""
            _base_: {Repo("configs", "models", "vitpose-s_coco.yaml")}
            model:
              backbone: {"{"}arch: custom, embed_dims: 192, num_layers: 4, num_heads: 3, feedforward_channels: 768, drop_path_rate: 0.0{"}"}
            """);
        return path.Replace('\\', '/');
    }

    private string OriginalCheckpoint()
    {
        var path = Path.Combine(_run.Dir, "vitpose_original.safetensors");
        OriginalViTPoseLayout.Write(SharedData.Fixture(Fixture, Fixture + ".pth"), path);
        return path.Replace('\\', '/');
    }

    [Fact]
    public void OriginalLayoutTeacherLoadsMappedAndGivesMmposesHeatmaps()
    {
        var options = new TeacherOptions { Name = "vitpose-b_coco", Config = TeacherConfig(), Checkpoint = OriginalCheckpoint() };
        using var teacher = new TeacherLoader("unused-manifest.yaml").Load(options, KeypointSet.FromName("unified21"), Device.Cpu);
        Assert.NotNull(teacher.CheckpointReport);
        Assert.Equal(CheckpointLayout.OriginalViTPose, teacher.CheckpointReport!.Layout);
        Assert.Equal(66, teacher.CheckpointReport.Renamed.Count);

        using var scope = torch.NewDisposeScope();
        using var _ = Autograd.InferenceMode();
        var input = torch.FromBytes(File.ReadAllBytes(SharedData.Fixture(Fixture, "input.bin")), DType.Float32, [2, 3, 256, 192]);
        var expected = torch.FromBytes(File.ReadAllBytes(SharedData.Fixture(Fixture, "heatmaps.bin")), DType.Float32, [2, 17, 64, 48]);
        var heatmaps = teacher.Model.Forward(input)["heatmaps"];
        var diff = (heatmaps - expected).Abs().Max().ItemDouble();
        Assert.True(diff < 1e-3, $"teacher heatmaps differ from mmpose's by {diff}");
    }

    [Fact]
    public void ShippedConfigTrainsWithTheHeatmapTeacher()
    {
        var mpii = _run.Teacher("rtmpose-m_mpii",
            "{keypoint_set: mpii16, input_size: [64, 64], backbone: {type: CSPNeXt, deepen_factor: 0.167, widen_factor: 0.125}, " +
            "head: {type: RTMCCHead, gau: {hidden_dims: 32, s: 16}}, codec: {type: SimCCLabel, sigma: [2.0, 2.0], normalize: false}}",
            seed: 41, "weight: 0.45");
        var config = Path.Combine(_run.Dir, "vitpose-teacher.yaml");
        // The shipped experiment (RTMPose-t unified student, its losses, optimizer and pipelines) with small data, a
        // smaller student input and two epochs (the second on the stage-2 pipeline); its teachers keep their names
        // and weights, with the stand-in files.
        File.WriteAllText(config, $$"""
            _base_: {{Repo("configs", "distill", "vitpose-b_to_rtmpose-t_unified.yaml")}}
            work_dir: {{_run.Dir.Replace('\\', '/')}}/vitpose-teacher
            threads: 2
            model: {input_size: [96, 128]}
            data:
              sources:
                - {{_run.CocoSource}}
                - {{_run.MpiiSource}}
              batch_size: 4
              val_batch_size: 8
              num_workers: 1
              stage2_epochs: 1
            schedule: {warmup_iters: 1, cosine_begin_epoch: 1}
            train: {max_epochs: 2, val_interval: 2, log_interval: 1}
            teachers:
              - {name: vitpose-b_coco, config: {{TeacherConfig()}}, checkpoint: {{OriginalCheckpoint()}}, weight: 0.25}
              - {{mpii}}
            """);
        var result = _run.Train(config);
        Assert.True(result.Completed);
        var steps = MetricsLog.Read(Path.Combine(result.WorkDir, MetricsLog.FileName)).Where(r => r.Metrics.ContainsKey("train/loss")).ToList();
        Assert.NotEmpty(steps);
        foreach (var r in steps)
        {
            foreach (var t in new[] { "train/loss_kd/vitpose-b_coco", "train/loss_kd/rtmpose-m_mpii", "train/loss_kpt" })
                Assert.True(r.Metrics.TryGetValue(t, out var v) && double.IsFinite(v) && v > 0, $"{t} missing or not positive at step {r.Step}");
        }
        Assert.True(result.LastMetrics.ContainsKey("coco/AP"));
    }
}
