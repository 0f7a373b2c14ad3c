using Distill.Pose.Synthetic;

namespace Distill.Pose.Tests.Synthetic;

public sealed class SynthDirectoryTests
{
    [Fact]
    public void RefusesANonEmptyDirectoryWithoutForce()
    {
        using var dir = new TempDir();
        string keep = Path.Combine(dir.Path, "notes.txt");
        File.WriteAllText(keep, "mine");
        var e = Assert.Throws<IOException>(() => Synth.Generate(new SynthOptions { OutDir = dir.Path, CocoImages = 2, Threads = 1 }));
        Assert.Contains(dir.Path, e.Message);
        Assert.Equal("mine", File.ReadAllText(keep));
        Assert.Equal([keep], Directory.EnumerateFileSystemEntries(dir.Path));
    }

    [Fact]
    public void ForceClearsTheDirectoryFirst()
    {
        using var dir = new TempDir();
        File.WriteAllText(Path.Combine(dir.Path, "stale.json"), "{\"keypoints\": []}");
        Directory.CreateDirectory(Path.Combine(dir.Path, "old", "deep"));
        File.WriteAllText(Path.Combine(dir.Path, "old", "deep", "x.jpg"), "x");
        Synth.Generate(new SynthOptions { OutDir = dir.Path, CocoImages = 2, Force = true, Threads = 1 });
        Assert.Equal(["coco"], Directory.EnumerateFileSystemEntries(dir.Path).Select(Path.GetFileName));
        Assert.Equal(2, Directory.EnumerateFiles(Path.Combine(dir.Path, "coco", "images"), "*.jpg", SearchOption.AllDirectories).Count());
    }

    [Fact]
    public void WritesIntoAMissingOrEmptyDirectory()
    {
        using var dir = new TempDir();
        string missing = Path.Combine(dir.Path, "a", "b");
        var r = Synth.Generate(new SynthOptions { OutDir = missing, MpiiImages = 1, Threads = 1 });
        Assert.Equal((1, 0), (r.MpiiTrainImages, r.MpiiValImages));
        Assert.Null(r.CocoTrainJson);
        Assert.True(File.Exists(Path.Combine(missing, "mpii", "annotations", "mpii_train.json")));
        Assert.False(Directory.Exists(Path.Combine(missing, "coco")));
    }

    [Fact]
    public void InvalidOptionsAreNamed()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<ArgumentException>(() => Synth.Generate(new SynthOptions { OutDir = dir.Path, Threads = 0 }));
        Assert.Contains("at least one of CocoImages, MpiiImages, AicImages and CrowdPoseImages", e.Message);
        Assert.Contains("Threads", e.Message);
        e = Assert.Throws<ArgumentException>(() => Synth.Generate(new SynthOptions { OutDir = dir.Path, CocoImages = -1, MpiiImages = 3 }));
        Assert.Contains("CocoImages must not be negative", e.Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir.Path));
    }
}
