using Distill.Config;
using Distill.Pose.Keypoints;
using Distill.Pose.Models;
using Distill.TestSupport;
using Distill.Training.Config;
using Distill.Training.Teachers;

namespace Distill.Training.Tests.Config;

/// <summary>
/// Every YAML file the repository ships under configs/ loads and binds strictly through the loader of its kind, and
/// the teacher manifest binds through the same binder with every entry agreeing with its teacher's config.
/// </summary>
public class ShippedConfigTests
{
    private static string ConfigsDir => Path.Combine(SharedData.RepoRoot, "configs");

    /// <summary>Every .yaml below configs/, relative to it.</summary>
    private static IEnumerable<string> Relative() =>
        Directory.EnumerateFiles(ConfigsDir, "*.yaml", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            .Select(f => Path.GetRelativePath(ConfigsDir, f).Replace('\\', '/'));

    public static TheoryData<string> ConfigFiles => new(Relative());

    /// <summary>Files another config names as its _base_ (full paths).</summary>
    private static HashSet<string> Bases()
    {
        var bases = new HashSet<string>(StringComparer.Ordinal);
        foreach (var f in Directory.EnumerateFiles(ConfigsDir, "*.yaml", SearchOption.AllDirectories))
        {
            foreach (var line in File.ReadLines(f).Where(l => l.StartsWith(ConfigLoader.BaseKey + ":", StringComparison.Ordinal)))
                bases.Add(Path.GetFullPath(Path.Combine(Path.GetDirectoryName(f)!, line[(ConfigLoader.BaseKey.Length + 1)..].Trim())));
        }
        return bases;
    }

    [Fact]
    public void TheFolderHoldsEveryKindOfConfig()
    {
        var folders = Relative().Select(f => f.Split('/')[0]).ToHashSet();
        Assert.Superset(new HashSet<string> { "keypoints", "models", "teachers", "baselines", "distill", "demo" }, folders);
    }

    [Theory]
    [MemberData(nameof(ConfigFiles))]
    public void ShippedConfigLoadsAndBinds(string relative)
    {
        var path = Path.Combine(ConfigsDir, relative);
        switch (relative.Split('/')[0])
        {
            case "keypoints":
                var set = KeypointSet.Load(path);
                Assert.Equal(Path.GetFileNameWithoutExtension(path), set.Name);
                break;
            case "models":
            case "teachers":
                var model = ModelConfig.Load(path);
                Assert.Equal(model.KeypointSet, KeypointSet.FromName(model.KeypointSet).Name);
                break;
            case "baselines":
            case "distill":
            case "demo":
                if (Bases().Contains(path))
                {
                    // A shared base (no data of its own): its merged tree reads, and its model section binds.
                    ConfigLoader.Load(path);
                    ModelConfig.Load(path);
                    break;
                }
                var experiment = ExperimentConfig.Load(path);
                Assert.Equal(Path.GetFileNameWithoutExtension(path), experiment.Name);
                // Teachers named alone must be in the shipped registry, which the experiment names relative to the repository.
                Assert.Equal(TeacherRegistry.DefaultManifest, experiment.TeachersManifest);
                var registry = TeacherRegistry.Read(Path.Combine(SharedData.RepoRoot, experiment.TeachersManifest));
                foreach (var t in experiment.Teachers.Where(t => t.Config is null))
                    Assert.Equal(t.Name, registry.Get(t.Name).Name);
                break;
            case "bottomup":
                var bottomup = ModelConfig.Load(path);
                Assert.Equal(Pose.Models.Options.ModelType.BottomupPoseEstimator, bottomup.Type);
                break;
            default:
                Assert.Fail($"configs/{relative}: no loader is known for the folder it is in; add its kind to this test");
                break;
        }
    }

    [Fact]
    public void TheTeacherManifestBindsAndAgreesWithItsTeachersConfigs()
    {
        var registry = TeacherRegistry.Read(Path.Combine(SharedData.RepoRoot, TeacherRegistry.DefaultManifest));
        Assert.NotEmpty(registry.Entries);
        foreach (var e in registry.Entries)
        {
            // Manifest paths are relative to the working directory the CLI runs in: the repository root.
            var config = Path.Combine(SharedData.RepoRoot, e.Config);
            Assert.True(File.Exists(config), $"{e.Source}: {e.Config} does not exist");
            var model = ModelConfig.Load(config);
            Assert.Equal((e.Name, e.KeypointSet), (e.Name, model.KeypointSet));
            Assert.Equal(model.InputSize, e.InputSize);
        }
    }
}
