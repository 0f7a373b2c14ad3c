using System.Security.Cryptography;
using Distill.Config;
using Distill.Pose.Models;
using Distill.Torch;
using Distill.Torch.Serialization;
using Distill.Training.Config;
using Distill.Training.Config.Schema;
using Distill.Training.Distillation;
using Distill.Training.Teachers;
using Distill.Training.Tests.Config;

namespace Distill.Training.Tests.Teachers;

/// <summary>
/// Bottom-up teachers load as top-down ones do (registry or config and checkpoint, checksum first, weights report), and
/// the experiment keys of bottom-up distillation bind into its settings or are refused at their line.
/// </summary>
public sealed class BottomupTeacherLoaderTests : IDisposable
{
    private const string TeacherConfig = """
        model:
          type: BottomupPoseEstimator
          keypoint_set: coco17
          input_size: [65, 65]
          backbone: {type: CSPNeXt, deepen_factor: 0.167, widen_factor: 0.25, out_indices: [2]}
          head: {type: CifCafHead}
        """;

    private const string Sources = """
        data:
          sources:
            - {name: coco, format: coco, ann_file: a.json, img_dir: img}
        """;

    private readonly ConfigFiles _files = new();
    private readonly string _config;
    private readonly string _checkpoint;
    private readonly string _sha;
    private readonly float[] _cifWeight;

    public BottomupTeacherLoaderTests()
    {
        _config = _files.Write("configs/teacher.yaml", TeacherConfig);
        _checkpoint = _files.PathOf("weights/teacher.safetensors");
        Directory.CreateDirectory(Path.GetDirectoryName(_checkpoint)!);
        var (model, _) = ModelFactory.BuildBottomup(ModelConfig.Load(_config));
        using (model)
        {
            SafeTensors.Save(_checkpoint, model.StateDict());
            _cifWeight = model.Head.Cif.Conv.Weight.Flatten().ToArray<float>();
        }
        using var fs = File.OpenRead(_checkpoint);
        _sha = Convert.ToHexStringLower(SHA256.HashData(fs));
    }

    public void Dispose() => _files.Dispose();

    private string Manifest(string sha) => _files.Write("teachers/manifest.yaml",
        $"teachers:\n  - {{name: big, config: {_config}, checkpoint: {_checkpoint}, keypoint_set: coco17, input_size: [65, 65], sha256: '{sha}'}}\n");

    [Fact]
    public void ARegisteredBottomupTeacherLoadsFrozenWithItsWeights()
    {
        var loader = new TeacherLoader(Manifest(_sha[..8]));
        using var teacher = loader.LoadBottomup(new TeacherOptions { Name = "big", FoldBn = false }, Device.Cpu);
        Assert.NotNull(teacher.CheckpointReport);
        Assert.Equal(("coco17", 8), (teacher.KeypointSet.Name, teacher.Stride));
        Assert.Equal(_cifWeight, teacher.Model.Head.Cif.Conv.Weight.Flatten().ToArray<float>());
        Assert.False(teacher.Model.Backbone.Training);
        Assert.True(teacher.Model.Head.Training);
        Assert.All(teacher.Model.Parameters(), p => Assert.False(p.RequiresGrad));
    }

    [Fact]
    public void AWrongChecksumStopsTheLoadBeforeAnyWeightIsRead()
    {
        var loader = new TeacherLoader(Manifest(new string('0', 64)));
        var e = Assert.Throws<InvalidDataException>(() => loader.LoadBottomup(new TeacherOptions { Name = "big" }, Device.Cpu));
        Assert.Contains("checksum mismatch", e.Message);
    }

    [Fact]
    public void ATopdownTeacherConfigIsRefusedNamingTheTeacherAndKey()
    {
        var topdown = _files.Write("configs/td.yaml", """
            model:
              keypoint_set: coco17
              input_size: [48, 64]
              backbone: {type: CSPNeXt, deepen_factor: 0.167, widen_factor: 0.125}
              head: {type: RTMCCHead, gau: {hidden_dims: 32, s: 16}}
              codec: {type: SimCCLabel, sigma: [1.5, 1.5]}
            """);
        var loader = new TeacherLoader(_files.PathOf("teachers/none.yaml"));
        var e = Assert.Throws<InvalidDataException>(() =>
            loader.LoadBottomup(new TeacherOptions { Name = "td", Config = topdown, Checkpoint = _checkpoint }, Device.Cpu));
        Assert.Contains("teachers.td", e.Message);
        Assert.Contains("model.type", e.Message);
        Assert.Contains(topdown, e.Message);
    }

    [Fact]
    public void BottomupKeysBindIntoTheDistillationSettings()
    {
        var exp = ExperimentConfig.Load(_files.Write("bu.yaml", TeacherConfig + "\n" + Sources + """

            losses:
              logit_kd: {weight: 0.5, schedule: linear, fields: {confidence: 0.4, vector: 2, scale: 0.3}}
              feature_kd: {weight: 0.01, schedule: cosine, student_index: -1, teacher_index: 0}
            train: {max_epochs: 12}
            teachers:
              - {name: big, weight: 2, feature_weight: 1, runtime: auto}
            """));
        var s = BottomupDistillationSettings.From(exp);
        Assert.Equal((0.5, WeightSchedule.Linear, 0.4, 2.0, 0.3), (s.FieldWeight, s.FieldSchedule, s.ConfidenceWeight, s.VectorWeight, s.ScaleWeight));
        Assert.Equal((0.01, WeightSchedule.Cosine, -1, 0, 12), (s.FeatureWeight, s.FeatureSchedule, s.StudentFeature, s.TeacherFeature, s.ScheduleEpochs));
        // Nothing set: every field kind weighs 1, the last feature maps.
        var bare = BottomupDistillationSettings.From(ExperimentConfig.Load(_files.Write("bare.yaml", TeacherConfig + "\n" + Sources)));
        Assert.Equal((1.0, 1.0, 1.0, -1, -1), (bare.ConfidenceWeight, bare.VectorWeight, bare.ScaleWeight, bare.StudentFeature, bare.TeacherFeature));
    }

    [Fact]
    public void KeysOfTheOtherFamilyAreRefusedAtTheirLine()
    {
        var bu = _files.Write("bu.yaml", TeacherConfig + "\n" + Sources + """

            losses:
              logit_kd: {temperature: 2, mask_unknown: true, reduction: batchmean}
            teachers:
              - {name: big, runtime: onnxruntime}
            """);
        var e = Assert.Throws<ConfigException>(() => ExperimentConfig.Load(bu));
        Assert.Equal(["losses.logit_kd.mask_unknown", "losses.logit_kd.reduction", "losses.logit_kd.temperature", "teachers.0.runtime"], e.Errors.Select(x => x.Path).Order());
        Assert.Equal(11, e.Errors.Single(x => x.Path == "losses.logit_kd.temperature").Location.Line);

        var td = _files.Write("td.yaml", """
            model: {keypoint_set: coco17}
            losses:
              logit_kd: {fields: {vector: 2}}
              feature_kd: {teacher_index: 0}
            """ + "\n" + Sources);
        var t = Assert.Throws<ConfigException>(() => ExperimentConfig.Load(td));
        Assert.Equal(["losses.feature_kd.teacher_index", "losses.logit_kd.fields"], t.Errors.Select(x => x.Path).Order());
        Assert.All(t.Errors, x => Assert.Contains("bottom-up students only", x.Message));
    }
}
