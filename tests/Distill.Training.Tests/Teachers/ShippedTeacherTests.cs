using System.Security.Cryptography;
using Distill.Pose.Keypoints;
using Distill.Pose.Models;
using Distill.Pose.Synthetic;
using Distill.Torch;
using Distill.Training.Config;
using Distill.Training.Config.Schema;
using Distill.Training.Engine;
using Distill.Training.Evaluation;
using Distill.Training.Teachers;
using Distill.TestSupport;

namespace Distill.Training.Tests.Teachers;

/// <summary>
/// The demo teachers shipped in teachers/: registered in the real manifest with their full SHA-256, loaded through the
/// registry like any teacher, wider and deeper than the demo student, and trained (they find the figures of synthetic
/// images they never saw, where the same network with fresh weights does not).
/// </summary>
public sealed class ShippedTeacherTests : IDisposable
{
    private static readonly string Root = SharedData.RepoRoot;
    private readonly string _data = Path.Combine(Path.GetTempPath(), "distill-shipped-teachers-" + Guid.NewGuid().ToString("N")[..12]);

    public void Dispose()
    {
        if (Directory.Exists(_data)) Directory.Delete(_data, recursive: true);
    }

    private static TeacherRegistry Registry => TeacherRegistry.Read(Path.Combine(Root, TeacherRegistry.DefaultManifest));

    /// <summary>The registry entry as the loader sees it from the repository root (manifest paths are relative to it).</summary>
    private static TeacherOptions Options(TeacherEntry e) => new()
    {
        Name = e.Name,
        Config = Path.Combine(Root, e.Config),
        Checkpoint = Path.Combine(Root, e.Checkpoint),
        Sha256 = e.Sha256,
    };

    [Theory]
    [InlineData("demo-coco", "coco17", 96, 128)]
    [InlineData("demo-mpii", "mpii16", 128, 128)]
    public void TheShippedTeacherIsRegisteredWithItsFullDigestAndLoads(string name, string set, int width, int height)
    {
        var e = Registry.Get(name);
        var file = Path.Combine(Root, e.Checkpoint);
        Assert.StartsWith("teachers/", e.Checkpoint);
        Assert.True(File.Exists(file), $"{file} is not in the repository");
        Assert.InRange(new FileInfo(file).Length, 1 << 20, 32 << 20);
        string actual;
        using (var fs = File.OpenRead(file)) actual = Convert.ToHexStringLower(SHA256.HashData(fs));
        Assert.Equal(actual, e.Sha256);

        using var teacher = new TeacherLoader(Path.Combine(Root, TeacherRegistry.DefaultManifest))
            .Load(Options(e), KeypointSet.FromName("unified21"), Device.Cpu);
        Assert.Equal((set, (width, height)), (teacher.KeypointSet.Name, teacher.InputSize));

        // Twice the student's width and deeper (CSPNeXt d0.33 against d0.167: stages 2 and 3 get two blocks, not one).
        var teacherModel = ModelConfig.Load(Path.Combine(Root, e.Config));
        var studentModel = ModelConfig.Load(Path.Combine(Root, "configs", "demo", "student_kd.yaml"));
        Assert.Equal(2 * studentModel.Backbone.WidenFactor, teacherModel.Backbone.WidenFactor);
        Assert.True(teacherModel.Backbone.DeepenFactor > studentModel.Backbone.DeepenFactor);
    }

    [Fact]
    public void AShippedTeacherWithOneByteChangedIsRefused()
    {
        var e = Registry.Get("demo-coco");
        Directory.CreateDirectory(_data);
        var copy = Path.Combine(_data, "demo-coco.safetensors");
        File.Copy(Path.Combine(Root, e.Checkpoint), copy);
        using (var fs = new FileStream(copy, FileMode.Open, FileAccess.ReadWrite))
        {
            fs.Seek(-5, SeekOrigin.End); // inside the last tensor's data: the file still parses
            int b = fs.ReadByte();
            fs.Seek(-5, SeekOrigin.End);
            fs.WriteByte((byte)(b ^ 0x01));
        }
        var ex = Assert.Throws<InvalidDataException>(() => new TeacherLoader(Path.Combine(Root, TeacherRegistry.DefaultManifest))
            .Load(new TeacherOptions { Name = e.Name, Config = Path.Combine(Root, e.Config), Checkpoint = copy, Sha256 = e.Sha256 },
                KeypointSet.FromName("unified21"), Device.Cpu));
        Assert.Contains("checksum mismatch", ex.Message);
        Assert.Contains(copy, ex.Message);
    }

    [Fact]
    public void TheShippedTeachersFindTheFiguresOfUnseenSyntheticImages()
    {
        // A seed the demo never uses: 18 COCO-format and 18 MPII-format training images, scored as if they were validation.
        Synth.Generate(new SynthOptions { OutDir = _data, Seed = 4242, CocoImages = 20, MpiiImages = 20, Threads = 2, Scene = SynthScene.Simple });
        var sources = new Dictionary<string, DataSourceOptions>
        {
            ["demo-coco"] = new()
            {
                Name = "coco", Format = DataFormat.Coco,
                AnnFile = Path.Combine(_data, "coco", "annotations", "person_keypoints_train.json"), ImgDir = Path.Combine(_data, "coco", "images", "train"),
                ValAnnFile = Path.Combine(_data, "coco", "annotations", "person_keypoints_train.json"), ValImgDir = Path.Combine(_data, "coco", "images", "train"),
            },
            ["demo-mpii"] = new()
            {
                Name = "mpii", Format = DataFormat.Mpii,
                AnnFile = Path.Combine(_data, "mpii", "annotations", "mpii_train.json"), ImgDir = Path.Combine(_data, "mpii", "images"),
                ValAnnFile = Path.Combine(_data, "mpii", "annotations", "mpii_train.json"),
            },
        };
        foreach (var (name, source) in sources)
        {
            var e = Registry.Get(name);
            var data = SourceData.Load(source, train: false, val: true);
            Assert.Equal(18, data.Val!.Count);
            string metric = $"{source.Name}/PCK@0.1";
            var options = ModelConfig.Load(Path.Combine(Root, e.Config));
            double Score(bool trained)
            {
                var (model, set) = ModelFactory.Build(options);
                using (model)
                {
                    if (trained) Distill.Pose.Models.Checkpoints.WeightsLoader.LoadInto(model, Path.Combine(Root, e.Checkpoint));
                    return PoseEvaluator.Evaluate(model, set, [data], Device.Cpu, 18, flipTest: false, workers: 0,
                        metrics: [MetricFamily.Pck])[metric];
                }
            }
            double shipped = Score(trained: true), fresh = Score(trained: false);
            // On the demo's seed-0 validation splits the teachers score 0.81 (COCO) and 0.80 (MPII).
            Assert.True(shipped >= 0.65 && fresh <= 0.15, $"{name}: {metric} {shipped:F3} trained, {fresh:F3} untrained");
        }
    }
}
