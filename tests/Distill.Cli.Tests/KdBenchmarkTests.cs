using System.Text.Json.Nodes;
using Distill.Cli.Tests.Support;

namespace Distill.Cli.Tests;

/// <summary>
/// The KD benchmark's commands: `kd-report` tabulates a pair of runs from their summary.json files, and `demo --seed`
/// makes data that depends on the seed and on nothing else.
/// </summary>
public sealed class KdBenchmarkTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "distill-kd-tests-" + Guid.NewGuid().ToString("N")[..12]);

    public KdBenchmarkTests() => Directory.CreateDirectory(_root);

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException) { }
    }

    private string Summary(string run, string metricsJson)
    {
        var dir = Path.Combine(_root, run);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "summary.json"), $$"""{"name": "{{run}}", "epochs": 16, "metrics": {{metricsJson}}}""");
        return dir;
    }

    [Fact]
    public void KdReportPrintsEveryMetricWithItsDifferenceAndTheBetterRun()
    {
        var kd = Summary("kd", """{"coco/AP": 0.048, "coco/PCK@0.1": 0.659, "mpii/PCKh": 0.396, "mpii/PCK@0.1": 0.633, "mpii/EPE": 3.25}""");
        var baseline = Summary("baseline", """{"coco/AP": 0.038, "coco/AR": 0.1, "coco/PCK@0.1": 0.651, "mpii/PCKh": 0.435, "mpii/PCK@0.1": 0.633, "mpii/EPE": 3.5}""");
        // A run directory or its summary.json: the same table.
        foreach (var args in new[] { new[] { "kd-report", kd, baseline }, ["kd-report", Path.Combine(kd, "summary.json"), baseline] })
        {
            var r = DistillCli.Run(_root, args);
            Assert.True(r.ExitCode == 0, r.ToString());
            Assert.Equal(
            [
                "| source | metric | KD | baseline | KD - baseline | better |",
                "|---|---|---|---|---|---|",
                "| coco | AP | 0.0480 | 0.0380 | +0.0100 | KD |",
                "| coco | AR | - | 0.1000 | - | n/a |", // only one run has it
                "| coco | PCK@0.1 | 0.6590 | 0.6510 | +0.0080 | KD |",
                "| mpii | EPE | 3.2500 | 3.5000 | -0.2500 | KD |", // an error in pixels: lower is better
                "| mpii | PCK@0.1 | 0.6330 | 0.6330 | 0.0000 | equal |",
                "| mpii | PCKh | 0.3960 | 0.4350 | -0.0390 | baseline |",
            ], r.StdOut.Where(l => l.StartsWith('|')));
        }
    }

    [Fact]
    public void KdReportNamesARunWithoutASummary()
    {
        var kd = Summary("kd", """{"coco/AP": 0.5}""");
        var empty = Path.Combine(_root, "unfinished");
        Directory.CreateDirectory(empty);
        var r = DistillCli.Run(_root, "kd-report", kd, empty);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains($"{empty} holds no summary.json", r.Output);
        Assert.DoesNotContain("   at ", r.Output);

        var bad = Summary("bad", """{"coco/AP": "high"}""");
        r = DistillCli.Run(_root, "kd-report", kd, bad);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("metrics.coco/AP is String, not a number", r.Output);
    }

    /// <summary>Every file below <paramref name="dir"/> with its bytes, by relative path.</summary>
    private static Dictionary<string, byte[]> Files(string dir) =>
        Directory.GetFiles(dir, "*", SearchOption.AllDirectories).ToDictionary(p => Path.GetRelativePath(dir, p), File.ReadAllBytes);

    [Fact]
    public void DemoSeedChangesTheDataAndTheSameSeedRepeatsIt()
    {
        Dictionary<string, byte[]> Demo(string name, int seed)
        {
            var outDir = Path.Combine(_root, name);
            var r = DistillCli.Run(_root, "demo", "--data-only", "--images", "10", "--seed", seed.ToString(), "--out", outDir);
            Assert.True(r.ExitCode == 0, r.ToString());
            Assert.Contains($"synthetic data (seed {seed})", r.Output);
            return Files(Path.Combine(outDir, "data"));
        }

        var a = Demo("a", 1);
        var again = Demo("again", 1);
        var b = Demo("b", 2);
        // 9+1 images of each source and their annotation files.
        Assert.Equal(10, a.Keys.Count(k => k.StartsWith("coco/images/", StringComparison.Ordinal)));
        Assert.Equal(10, a.Keys.Count(k => k.StartsWith("mpii/images/", StringComparison.Ordinal)));
        var cocoVal = Path.Combine("coco", "annotations", "person_keypoints_val.json");
        Assert.Single(JsonNode.Parse(a[cocoVal])!["annotations"]!.AsArray());

        Assert.Equal(a.Keys.Order(StringComparer.Ordinal), again.Keys.Order(StringComparer.Ordinal));
        foreach (var (path, bytes) in a) Assert.True(bytes.AsSpan().SequenceEqual(again[path]), $"seed 1 twice: {path} differs");

        // Another seed: the same files, other figures and poses.
        Assert.Equal(a.Keys.Order(StringComparer.Ordinal), b.Keys.Order(StringComparer.Ordinal));
        var keypointsA = JsonNode.Parse(a[cocoVal])!["annotations"]![0]!["keypoints"]!.ToJsonString();
        var keypointsB = JsonNode.Parse(b[cocoVal])!["annotations"]![0]!["keypoints"]!.ToJsonString();
        Assert.NotEqual(keypointsA, keypointsB);
        Assert.True(a.Count(kv => !kv.Value.AsSpan().SequenceEqual(b[kv.Key])) == a.Count, "every file should change with the seed");
    }

    [Fact]
    public void DemoRefusesToClearAFolderItDidNotMake()
    {
        var mine = Path.Combine(_root, "mine");
        Directory.CreateDirectory(mine);
        File.WriteAllText(Path.Combine(mine, "notes.txt"), "keep me");
        var r = DistillCli.Run(_root, "demo", "--data-only", "--images", "10", "--out", mine);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("is not empty and was not made by the demo", r.Output);
        Assert.Equal("keep me", File.ReadAllText(Path.Combine(mine, "notes.txt")));

        // A folder the demo made is its own to clear.
        var demo = Path.Combine(_root, "demo");
        foreach (var seed in new[] { "3", "4" })
        {
            r = DistillCli.Run(_root, "demo", "--data-only", "--images", "10", "--seed", seed, "--out", demo);
            Assert.True(r.ExitCode == 0, r.ToString());
        }
    }
}
