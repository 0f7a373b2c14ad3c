using System.Security.Cryptography;
using Distill.Config;
using Distill.Pose.Keypoints;
using Distill.Pose.Models;
using Distill.Torch;
using Distill.Torch.Serialization;
using Distill.Training.Config;
using Distill.Training.Config.Schema;
using Distill.Training.Teachers;
using Distill.Training.Tests.Config;

namespace Distill.Training.Tests.Teachers;

/// <summary>
/// Teachers come from an experiment's teachers[] and the registry: checksums are checked before any weight is read,
/// and what the registry or the experiment says of a teacher (keypoint set, input size) must be what its config builds.
/// </summary>
public sealed class TeacherLoaderTests : IDisposable
{
    /// <summary>A tiny COCO teacher at 48x64.</summary>
    private const string TeacherConfig = """
        model:
          keypoint_set: coco17
          input_size: [48, 64]
          backbone: {type: CSPNeXt, deepen_factor: 0.167, widen_factor: 0.125}
          head: {type: RTMCCHead, gau: {hidden_dims: 32, s: 16}}
          codec: {type: SimCCLabel, sigma: [1.5, 1.5]}
        """;

    private readonly ConfigFiles _files = new();
    private readonly string _config;
    private readonly string _checkpoint;
    private readonly string _sha;

    public TeacherLoaderTests()
    {
        _config = _files.Write("configs/teacher.yaml", TeacherConfig);
        _checkpoint = _files.PathOf("weights/teacher.safetensors");
        Directory.CreateDirectory(Path.GetDirectoryName(_checkpoint)!);
        var (model, _) = ModelFactory.Build(ModelConfig.Load(_config));
        using (model)
            SafeTensors.Save(_checkpoint, model.StateDict());
        using var fs = File.OpenRead(_checkpoint);
        _sha = Convert.ToHexStringLower(SHA256.HashData(fs));
    }

    public void Dispose() => _files.Dispose();

    private static KeypointSet Student => KeypointSet.FromName("unified21");

    private string Manifest(string entry) => _files.Write("teachers/manifest.yaml", "teachers:\n" + entry);

    private string Entry(string name = "t", string? sha = null, string keypointSet = "coco17", string inputSize = "[48, 64]") =>
        $"  - {{name: {name}, config: {_config}, checkpoint: {_checkpoint}, keypoint_set: {keypointSet}, input_size: {inputSize}" +
        (sha is null ? "}" : $", sha256: '{sha}'}}") + "\n";

    [Fact]
    public void ARegisteredTeacherLoadsWithItsChecksum()
    {
        var loader = new TeacherLoader(Manifest(Entry(sha: _sha[..8].ToUpperInvariant())));
        using var teacher = loader.Load(new TeacherOptions { Name = "t" }, Student, Device.Cpu);
        Assert.Equal(("coco17", (48, 64)), (teacher.KeypointSet.Name, teacher.InputSize));
        // unified21 keypoint 17 (head top) is MPII's, unknown to a COCO teacher.
        Assert.Equal(-1, teacher.TeacherIndexOfStudent[17]);
    }

    [Fact]
    public void ATamperedCheckpointFailsItsChecksumNamingTheFile()
    {
        var manifest = Manifest(Entry(sha: _sha));
        using (var fs = new FileStream(_checkpoint, FileMode.Open, FileAccess.ReadWrite))
        {
            // One byte near the end: inside the tensor data, so the file still parses.
            fs.Seek(-3, SeekOrigin.End);
            int b = fs.ReadByte();
            fs.Seek(-3, SeekOrigin.End);
            fs.WriteByte((byte)(b ^ 0x55));
        }
        var ex = Assert.Throws<InvalidDataException>(() => new TeacherLoader(manifest).Load(new TeacherOptions { Name = "t" }, Student, Device.Cpu));
        Assert.Contains("checksum mismatch", ex.Message);
        Assert.Contains(_checkpoint, ex.Message);
        Assert.Contains(_sha, ex.Message);

        // The experiment's own sha256 is checked the same way.
        ex = Assert.Throws<InvalidDataException>(() => new TeacherLoader(manifest).Load(
            new TeacherOptions { Name = "t", Config = _config, Checkpoint = _checkpoint, Sha256 = _sha[..12] }, Student, Device.Cpu));
        Assert.Contains(_checkpoint, ex.Message);
    }

    [Fact]
    public void AManifestKeypointSetThatDisagreesWithTheConfigIsRefused()
    {
        var manifest = Manifest(Entry(keypointSet: "mpii16"));
        var ex = Assert.Throws<InvalidDataException>(() => new TeacherLoader(manifest).Load(new TeacherOptions { Name = "t" }, Student, Device.Cpu));
        Assert.Contains("'mpii16'", ex.Message);
        Assert.Contains("'coco17'", ex.Message);
        Assert.Contains(_config, ex.Message);
        // The entry is located in the manifest (line 2, where the list item starts).
        Assert.Contains(":2:", ex.Message);
    }

    [Fact]
    public void AManifestInputSizeThatDisagreesWithTheConfigIsRefused()
    {
        var manifest = Manifest(Entry(inputSize: "[64, 48]"));
        var ex = Assert.Throws<InvalidDataException>(() => new TeacherLoader(manifest).Load(new TeacherOptions { Name = "t" }, Student, Device.Cpu));
        Assert.Contains("[64, 48]", ex.Message);
        Assert.Contains("[48, 64]", ex.Message);
    }

    [Fact]
    public void AnExperimentKeypointSetThatDisagreesWithTheConfigIsRefused()
    {
        var manifest = Manifest(Entry());
        var ex = Assert.Throws<InvalidDataException>(() => new TeacherLoader(manifest).Load(
            new TeacherOptions { Name = "t", KeypointSet = "mpii16" }, Student, Device.Cpu));
        Assert.Contains("'mpii16'", ex.Message);
        Assert.Contains("'coco17'", ex.Message);
    }

    [Fact]
    public void TeachersGivenCompletelyByTheExperimentNeedNoManifest()
    {
        var loader = new TeacherLoader(_files.PathOf("nowhere/manifest.yaml"));
        using var teacher = loader.Load(new TeacherOptions { Name = "t", Config = _config, Checkpoint = _checkpoint, Sha256 = _sha }, Student, Device.Cpu);
        Assert.Equal("coco17", teacher.KeypointSet.Name);
        // A teacher named alone needs the manifest, and says which file is missing.
        var ex = Assert.Throws<FileNotFoundException>(() => loader.Load(new TeacherOptions { Name = "t" }, Student, Device.Cpu));
        Assert.Contains(_files.PathOf("nowhere/manifest.yaml"), ex.Message);
    }

    [Fact]
    public void RelativeManifestPathsAreTakenFromTheWorkingDirectory()
    {
        var manifest = Manifest("  - {name: t, config: configs/t.yaml, checkpoint: weights/t.pth, keypoint_set: coco17, input_size: [48, 64]}\n" +
            "  - {name: u, config: /abs/u.yaml, checkpoint: 'https://example.org/files/u-0123abcd.pth', keypoint_set: coco17, input_size: [48, 64]}\n");
        var loader = new TeacherLoader(manifest);
        var files = loader.Locate(new TeacherOptions { Name = "t" });
        Assert.Equal(Path.Combine(Directory.GetCurrentDirectory(), "configs", "t.yaml"), files.Config);
        Assert.Equal(Path.Combine(Directory.GetCurrentDirectory(), "weights", "t.pth"), files.Checkpoint);
        // A URL is looked for in cache/ beside the manifest.
        var ex = Assert.Throws<FileNotFoundException>(() => loader.Locate(new TeacherOptions { Name = "u" }));
        Assert.Equal(_files.PathOf("teachers/cache/u-0123abcd.pth"), ex.FileName);
        Directory.CreateDirectory(Path.GetDirectoryName(ex.FileName!)!);
        File.WriteAllText(ex.FileName!, "");
        Assert.Equal(("/abs/u.yaml", ex.FileName), (loader.Locate(new TeacherOptions { Name = "u" }).Config, loader.Locate(new TeacherOptions { Name = "u" }).Checkpoint));
    }

    [Fact]
    public void ManifestErrorsAreAllReportedWithTheirLineAndKey()
    {
        var manifest = _files.Write("teachers/manifest.yaml", """
            teachers:
              - {name: a, config: c.yaml, checkpoint: w.pth, keypoint_set: coco17, input_size: [1, 2], sha265: d8dd5ca4}
              - {name: b, config: c.yaml, checkpoint: w.pth, keypoint_set: coco17, input_size: wide}
              - {name: c, config: c.yaml, keypoint_set: coco17, input_size: [1, 2]}
              - {name: a, config: c.yaml, checkpoint: w.pth, keypoint_set: coco17, input_size: [1, 2]}
            """);
        var ex = Assert.Throws<ConfigException>(() => TeacherRegistry.Read(manifest));
        var found = ex.Errors.Select(e => (e.Location.Line, e.Path)).Order().ToList();
        Assert.Equal([(2, "teachers.0.sha265"), (3, "teachers.1.input_size"), (4, "teachers.2.checkpoint"), (5, "teachers.3.name")], found);
        Assert.All(ex.Errors, e => Assert.Equal(manifest, Path.GetFullPath(e.Location.File!)));
        Assert.Contains("did you mean 'sha256'", ex.Errors.Single(e => e.Path == "teachers.0.sha265").Message);
        Assert.Contains("missing required key", ex.Errors.Single(e => e.Path == "teachers.2.checkpoint").Message);
        Assert.Contains("registered twice", ex.Errors.Single(e => e.Path == "teachers.3.name").Message);
        // The message of the exception lists them all, each with file:line:column.
        Assert.Contains($"{manifest}:3:", ex.Message);
    }

    public static TheoryData<string> ValidDigests => new()
    {
        "d8dd5ca4",
        "D8DD5CA4",
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "0123456789abcdef0123",
    };

    public static TheoryData<string> InvalidDigests => new()
    {
        "d8dd5ca",                                                             // 7 digits: too short a prefix
        "d8dd5cag",                                                            // not hexadecimal
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0",  // 65 digits
        "sha256:d8dd5ca4",
    };

    [Theory]
    [MemberData(nameof(ValidDigests))]
    public void TheSameDigestFormIsAcceptedInTheManifestAndInAnExperiment(string digest)
    {
        var registry = TeacherRegistry.Read(Manifest(Entry(sha: digest)));
        Assert.Equal(digest, registry.Get("t").Sha256);
        var experiment = ExperimentConfig.Load(_files.Write("exp.yaml", Experiment($"{{name: t, sha256: '{digest}'}}")));
        Assert.Equal(digest, experiment.Teachers[0].Sha256);
    }

    [Theory]
    [MemberData(nameof(InvalidDigests))]
    public void AnyOtherDigestIsAConfigErrorNamingTheKey(string digest)
    {
        var manifest = Manifest(Entry(sha: digest));
        var ex = Assert.Throws<ConfigException>(() => TeacherRegistry.Read(manifest));
        var error = Assert.Single(ex.Errors);
        Assert.Equal("teachers.0.sha256", error.Path);
        Assert.Equal((2, manifest), (error.Location.Line, Path.GetFullPath(error.Location.File!)));
        Assert.Contains(digest, error.Message);

        var path = _files.Write("exp.yaml", Experiment($"{{name: t, sha256: '{digest}'}}"));
        ex = Assert.Throws<ConfigException>(() => ExperimentConfig.Load(path));
        error = Assert.Single(ex.Errors);
        Assert.Equal("teachers.0.sha256", error.Path);
        Assert.Contains(digest, error.Message);
    }

    private static string Experiment(string teacher) => $$"""
        model: {keypoint_set: unified21}
        data:
          sources:
            - {name: coco, format: coco, ann_file: a.json, img_dir: images}
        teachers:
          - {{teacher}}
        """;
}
