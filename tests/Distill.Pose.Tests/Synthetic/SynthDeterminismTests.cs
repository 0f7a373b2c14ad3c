using System.Security.Cryptography;
using Distill.Pose.Synthetic;

namespace Distill.Pose.Tests.Synthetic;

public sealed class SynthDeterminismTests
{
    private static Dictionary<string, string> Hashes(string root) =>
        Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).ToDictionary(
            f => Path.GetRelativePath(root, f),
            f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));

    [Fact]
    public void SameOptionsGiveIdenticalFilesAtAnyThreadCount()
    {
        using var a = new TempDir();
        using var b = new TempDir();
        using var c = new TempDir();
        Synth.Generate(new SynthOptions { OutDir = a.Path, Seed = 5, CocoImages = 12, MpiiImages = 12, Threads = 1 });
        Synth.Generate(new SynthOptions { OutDir = b.Path, Seed = 5, CocoImages = 12, MpiiImages = 12, Threads = 2 });
        Synth.Generate(new SynthOptions { OutDir = c.Path, Seed = 6, CocoImages = 12, MpiiImages = 12, Threads = 2 });

        var ha = Hashes(a.Path);
        var hb = Hashes(b.Path);
        Assert.Equal(12 + 12 + 4, ha.Count);
        Assert.Equal(ha.Keys.Order(), hb.Keys.Order());
        foreach (var (file, hash) in ha) Assert.True(hash == hb[file], $"{file} differs between 1 and 2 threads");

        // Another seed changes every image.
        var hc = Hashes(c.Path);
        Assert.All(ha.Keys.Where(f => f.EndsWith(".jpg")), f => Assert.NotEqual(ha[f], hc[f]));
    }

    [Fact]
    public void AnImageDependsOnlyOnSeedDatasetAndIndex()
    {
        // Growing the set leaves the images it shares with a smaller one untouched (the val split moves, so
        // compare the MPII folder, which is not split, and the first COCO train images).
        using var small = new TempDir();
        using var large = new TempDir();
        Synth.Generate(new SynthOptions { OutDir = small.Path, Seed = 9, CocoImages = 4, MpiiImages = 3, Threads = 2 });
        Synth.Generate(new SynthOptions { OutDir = large.Path, Seed = 9, CocoImages = 8, MpiiImages = 6, Threads = 2 });
        var hs = Hashes(small.Path);
        var hl = Hashes(large.Path);
        foreach (var f in hs.Keys.Where(f => f.StartsWith(Path.Combine("mpii", "images")) || f.StartsWith(Path.Combine("coco", "images", "train"))))
            Assert.True(hs[f] == hl[f], $"{f} changed when the set grew");
        // The COCO and MPII sets are different streams even at the same index.
        Assert.NotEqual(hs[Path.Combine("coco", "images", "train", "000000000001.jpg")], hs[Path.Combine("mpii", "images", "000000001.jpg")]);
    }
}
