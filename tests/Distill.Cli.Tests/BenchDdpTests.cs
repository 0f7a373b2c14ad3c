using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Distill.Cli.Tests.Support;

namespace Distill.Cli.Tests;

/// <summary>
/// `distill bench --suite ddp` at its smallest (one step of batch 2 per worker): its worker processes start, each
/// group's two ranks train together, and the table carries numbers. The PyTorch half runs when Debian's python3-torch
/// is installed and is left out (--python none) otherwise.
/// </summary>
public sealed partial class BenchDdpTests
{
    private const string Python = "/usr/bin/python3";
    private const int BatchPerWorker = 2, Workers = 2;
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    [Fact]
    public void DdpSuiteTrainsBothRanksOfEachSideAndPrintsMeasuredRows()
    {
        bool pytorch = PythonHasGlooTorch();
        var dir = Directory.CreateTempSubdirectory("distill-bench-ddp-test-");
        try
        {
            var args = new List<string> { "bench", "--suite", "ddp", "--reps", "1", "--steps", "1", "--batch", BatchPerWorker.ToString(Inv), "--threads", "1" };
            if (!pytorch) args.AddRange(["--python", "none"]);
            using var run = DistillCli.Start(dir.FullName, args.ToArray());
            // Five processes start and load a model each; a busy shared machine makes that slow, so the bound is generous.
            var r = run.WaitForExit(TimeSpan.FromMinutes(8));
            Assert.True(r.ExitCode == 0, r.ToString());

            var first = new Dictionary<(string Side, int Rank), Dictionary<string, double>>();
            foreach (var line in r.StdOut)
            {
                var m = FirstStepLine().Match(line);
                if (!m.Success) continue;
                first[(m.Groups[1].Value, int.Parse(m.Groups[2].Value, Inv))] = m.Groups[3].Value.Split(' ')
                    .Select(p => p.Split('=')).ToDictionary(p => p[0], p => double.Parse(p[1], Inv));
            }
            var sides = pytorch ? new[] { "Distill", "PyTorch" } : ["Distill"];
            foreach (var side in sides)
            {
                var r0 = first.GetValueOrDefault((side, 0)) ?? throw new Xunit.Sdk.XunitException($"no first step of {side} rank 0:\n{r}");
                var r1 = first.GetValueOrDefault((side, 1)) ?? throw new Xunit.Sdk.XunitException($"no first step of {side} rank 1:\n{r}");
                foreach (var t in new[] { r0, r1 })
                {
                    Assert.True(double.IsFinite(t["loss_kpt"]) && t["loss_kpt"] > 0, r.ToString());
                    Assert.Equal(t["loss_kpt"], t["loss"]); // no teachers: the ground-truth term is the whole loss
                }
                // Each rank stepped on its own half of the batch, yet both hold the same weights afterwards: the
                // gradients were averaged over the two.
                Assert.NotEqual(r0["loss_kpt"], r1["loss_kpt"]);
                Assert.Equal(r0["weights"], r1["weights"]);
            }
            if (pytorch)
            {
                // Same weights, same batches: the same losses on both sides.
                for (int rank = 0; rank < Workers; rank++)
                    Assert.Equal(first[("PyTorch", rank)]["loss_kpt"], first[("Distill", rank)]["loss_kpt"], 1e-4 * first[("PyTorch", rank)]["loss_kpt"]);
            }
            else Assert.Contains("PyTorch side: left out (--python none)", r.StdOut);

            var rows = r.StdOut.Where(l => l.StartsWith("| ", StringComparison.Ordinal))
                .Select(l => l.Trim('|').Split('|').Select(c => c.Trim()).ToArray()).ToList();
            string[] Row(string start) => rows.SingleOrDefault(c => c[0].StartsWith(start, StringComparison.Ordinal))
                ?? throw new Xunit.Sdk.XunitException($"no row '{start}':\n{r}");
            int global = Workers * BatchPerWorker;
            var step = Row("data-parallel step, 2 workers x 1 thread(s), batch 2 per worker (4 in all)");
            double distillMs = Throughput(step[1], global);
            if (pytorch)
            {
                double pytorchMs = Throughput(step[2], global);
                Assert.Equal(pytorchMs / distillMs, Ratio(step[3]), 0.02 * pytorchMs / distillMs + 0.01);
            }
            else Assert.Equal("-", step[2]);
            double singleMs = Throughput(Row("one process x 1 threads, batch 4 (Distill)")[1], global);
            Assert.Equal(singleMs / distillMs, Ratio(Row("scaling:")[1]), 0.02 * singleMs / distillMs + 0.01);
            foreach (var cell in new[] { Row("CPU time per data-parallel step")[1], Row("CPU time per step, one process")[1] }
                         .Concat(pytorch ? [Row("CPU time per data-parallel step")[2]] : []))
                Assert.True(double.Parse(Regex.Match(cell, @"^([\d.]+) s$").Groups[1].Value is { Length: > 0 } v ? v : "nan", Inv) > 0, cell);
            foreach (var cell in Row("gradient sync of one step").Skip(1).Take(pytorch ? 2 : 1))
            {
                // "X ms (A ms - B ms)": the reduced backward less the local one.
                var m = Regex.Match(cell, @"^(-?[\d.]+) ms \(([\d.]+) ms - ([\d.]+) ms\)$");
                Assert.True(m.Success, cell);
                double diff = Ms(m.Groups[1].Value), armed = Ms(m.Groups[2].Value), local = Ms(m.Groups[3].Value);
                Assert.True(armed > 0 && local > 0, cell);
                Assert.Equal(armed - local, diff, 0.11);
            }
            foreach (var cell in Row("plain Gloo all-reduce").Skip(1).Take(pytorch ? 2 : 1))
                Assert.True(Ms(Regex.Match(cell, @"^([\d.]+) ms$").Groups[1].Value) > 0, cell);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>Parses "T ms (X img/s)" and checks X = images / T; returns T.</summary>
    private static double Throughput(string cell, int images)
    {
        var m = Regex.Match(cell, @"^(\d+) ms \(([\d.]+) img/s\)$");
        Assert.True(m.Success, $"'{cell}' is not 'T ms (X img/s)'");
        double ms = double.Parse(m.Groups[1].Value, Inv), perSecond = double.Parse(m.Groups[2].Value, Inv);
        Assert.True(ms > 0, cell);
        Assert.Equal(images / (ms / 1e3), perSecond, 0.01 * perSecond + 0.05);
        return ms;
    }

    private static double Ratio(string cell)
    {
        var m = Regex.Match(cell, @"^([\d.]+)x");
        Assert.True(m.Success, $"'{cell}' is not a ratio");
        return double.Parse(m.Groups[1].Value, Inv);
    }

    private static double Ms(string s) => double.TryParse(s, NumberStyles.Float, Inv, out var v) ? v : throw new Xunit.Sdk.XunitException($"'{s}' is not a number");

    private static bool PythonHasGlooTorch()
    {
        if (!File.Exists(Python)) return false;
        var psi = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-c", "import torch.distributed as d; assert d.is_gloo_available()" }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        p.StandardOutput.ReadToEnd();
        p.StandardError.ReadToEnd();
        p.WaitForExit();
        return p.ExitCode == 0;
    }

    [GeneratedRegex(@"^first step, (Distill|PyTorch) rank (\d): (.+)$")]
    private static partial Regex FirstStepLine();
}
