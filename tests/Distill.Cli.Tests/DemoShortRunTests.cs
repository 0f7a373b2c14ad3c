using System.Globalization;
using Distill.Cli.Tests.Support;

namespace Distill.Cli.Tests;

/// <summary>
/// `distill demo --epochs 1 --images 20` into a folder of its own: every part runs (teachers, KD and baseline students,
/// export, the bottom-up run with its table), and --epochs reaches the bottom-up student's multistep schedule too,
/// whose milestone no longer fits in one epoch.
/// </summary>
public sealed class DemoShortRunTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "distill-demo-short-" + Guid.NewGuid().ToString("N")[..12]);

    public DemoShortRunTests() => Directory.CreateDirectory(_root);

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public void OneEpochDemoPrintsEveryTableAndScalesTheBottomupSchedule()
    {
        var outDir = Path.Combine(_root, "demo");
        var r = DistillCli.Run(_root, "demo", "--epochs", "1", "--images", "20", "--out", outDir);
        Assert.True(r.ExitCode == 0, r.ToString());
        var lines = r.StdOut;
        Assert.Contains(lines, l => l.StartsWith("## KD versus baseline", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("## Bottom-up student (bottomup_student.yaml)", StringComparison.Ordinal));
        Assert.Contains("| all-zero fields, decoded | 0.0000 | - | - | - | - |", lines);
        // The shipped model and the one-epoch student are both scored on the same two validation scenes.
        foreach (var row in new[] { "| CIF/CAF student: shipped backbone, heads trained here | ", "| shipped model (demo-bottomup), as trained offline | " })
        {
            var line = Assert.Single(lines, l => l.StartsWith(row, StringComparison.Ordinal));
            double ap = double.Parse(line[row.Length..].Split('|')[0], CultureInfo.InvariantCulture);
            Assert.InRange(ap, 0, 1);
        }
        Assert.True(File.Exists(Path.Combine(outDir, "student_kd.onnx")), r.ToString());

        // One epoch: the student's milestone (epoch 10 of 12) is dropped and its rate stays constant.
        var resolved = File.ReadAllText(Path.Combine(outDir, "bottomup_student", "config.yaml"));
        Assert.Contains("max_epochs: 1", resolved);
        Assert.Contains("type: constant", resolved);
        Assert.Contains("backbone_checkpoint: teachers/demo-bottomup.safetensors", resolved);
    }
}
