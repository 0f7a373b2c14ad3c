using System.Diagnostics;
using Distill.Training.Checkpoints;
using Distill.Training.Engine;
using Distill.Training.Logging;

namespace Distill.Training.Tests.Engine;

/// <summary>
/// A run directory stays consistent across refused second runs, hard kills and resumes: the running job's log is
/// its own, no temporary files or duplicate metrics are left, and config.yaml describes what actually runs.
/// </summary>
[Collection(TrainerCollection.Name)]
public sealed class RunDirectoryIntegrityTests : IDisposable
{
    private readonly TinyRun _run = new(seed: 5);

    public void Dispose() => _run.Dispose();

    /// <summary>The CLI built beside this test assembly (the solution build puts it at src/Distill.Cli/bin/CONFIG/TFM).</summary>
    private static string CliPath()
    {
        var bin = new DirectoryInfo(AppContext.BaseDirectory); // tests/Distill.Training.Tests/bin/Release/net10.0/
        string tfm = bin.Name, configuration = bin.Parent!.Name;
        var root = bin.Parent!.Parent!.Parent!.Parent!.Parent!.FullName;
        var cli = Path.Combine(root, "src", "Distill.Cli", "bin", configuration, tfm, "distill.dll");
        Assert.True(File.Exists(cli), $"{cli} is missing: build the solution first");
        return cli;
    }

    [Fact]
    public async Task SecondTrainRefusedByTheLockLeavesTheRunningJobsTrainLogAlone()
    {
        var config = _run.Config("busy", "{max_epochs: 1, val_interval: 1}");
        var work = Path.Combine(_run.Dir, "busy");
        using var holder = RunDirectory.Open(work); // the running job, as far as the lock can tell
        var log = Path.Combine(work, "train.log");
        var original = string.Join("\n", Enumerable.Range(1, 40).Select(i => $"2026-01-01 00:00:{i % 60:00} INFO Trainer: line {i} of the running job")) + "\n";
        File.WriteAllText(log, original);

        var start = new ProcessStartInfo("dotnet", [CliPath(), "train", config])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
            WorkingDirectory = _run.Dir,
        };
        using var cli = Process.Start(start)!;
        var stderr = cli.StandardError.ReadToEndAsync();
        var stdout = cli.StandardOutput.ReadToEndAsync();
        await cli.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(120)); // a TimeoutException: the refused run did not end
        Assert.Equal(1, cli.ExitCode);
        var output = await stderr + await stdout;
        Assert.True(output.Contains("is in use by another run", StringComparison.Ordinal), output);
        Assert.Equal(original, File.ReadAllText(log));
    }

    [Fact]
    public void ResumeAfterAHardKillRemovesOrphanTempFilesAndDuplicateMetrics()
    {
        var config = _run.Config("killed", "{max_epochs: 2, val_interval: 1, log_interval: 1}");
        var work = Path.Combine(_run.Dir, "killed");
        int perEpoch;
        using (var trainer = _run.Trainer(config))
        {
            // The process dies two steps into the second epoch: its last checkpoint is the end of the first.
            trainer.AfterStep = (_, epoch, batch) =>
            {
                if (epoch == 1 && batch == 2) throw new OutOfMemoryException("killed");
            };
            Assert.Throws<OutOfMemoryException>(() => trainer.Run(CancellationToken.None));
        }
        using (var ck = CheckpointStore.Load(Path.Combine(work, RunCheckpoints.LastFile)))
        {
            Assert.Equal(1, ck.State.Epoch);
            perEpoch = (int)ck.State.Iteration;
        }
        var metrics = Path.Combine(work, MetricsLog.FileName);
        Assert.Contains(MetricsLog.Read(metrics), r => r.Step == perEpoch + 2); // logged after the checkpoint
        // What a kill -9 in the middle of writing leaves: a checkpoint's temporary file and a torn last line.
        var orphan = Path.Combine(work, $".{RunCheckpoints.LastFile}.0123456789abcdef0123456789abcdef.tmp");
        File.WriteAllBytes(orphan, new byte[1000]);
        File.AppendAllText(metrics, "{\"step\":" + (perEpoch + 3) + ",\"epoch\":1,\"wall");

        var resumed = _run.Train(config, resume: "");
        Assert.True(resumed.Completed);
        Assert.Empty(Directory.GetFiles(work, "*.tmp"));
        // One train/loss record per optimizer step, each step once, in order.
        var steps = MetricsLog.Read(metrics).Where(r => r.Metrics.ContainsKey("train/loss")).Select(r => r.Step).ToList();
        Assert.Equal(Enumerable.Range(1, (int)resumed.Iterations).Select(i => (long)i), steps);
    }

    [Fact]
    public void ResumeTakesOverANewLearningRateAndRefusesOtherChangesByName()
    {
        var first = _run.Config("changes", "{max_epochs: 1, val_interval: 1, log_interval: 1}");
        string[] constant = ["schedule.type=constant", "schedule.warmup_iters=0"];
        var done = _run.Train(first, set: constant);
        var work = done.WorkDir;
        var configYaml = Path.Combine(work, "config.yaml");
        var before = File.ReadAllText(configYaml);

        // A change to the data (batch size) would make the run another one: refused by name, config.yaml untouched.
        var refused = Assert.Throws<TrainingException>(() => _run.Train(first, resume: "", set: [.. constant, "train.max_epochs=2", "data.batch_size=2"]));
        Assert.Contains("data.batch_size: 4 -> 2", refused.Message);
        Assert.DoesNotContain("train.max_epochs", refused.Message);
        Assert.Equal(before, File.ReadAllText(configYaml));

        // A new learning rate and more epochs are taken over, and config.yaml says so.
        var resumed = _run.Train(first, resume: "", set: [.. constant, "train.max_epochs=2", "optimizer.lr=2.5e-4"]);
        Assert.Equal(2, resumed.EpochsDone);
        var lrs = MetricsLog.Read(Path.Combine(work, MetricsLog.FileName))
            .Where(r => r.Metrics.ContainsKey("train/lr")).Select(r => (r.Step, Lr: r.Metrics["train/lr"])).ToList();
        Assert.All(lrs.Where(x => x.Step <= done.Iterations), x => Assert.Equal(1.0e-3, x.Lr, 12));
        Assert.All(lrs.Where(x => x.Step > done.Iterations), x => Assert.Equal(2.5e-4, x.Lr, 12));
        Assert.Contains(lrs, x => x.Step > done.Iterations);
        var yaml = File.ReadAllText(configYaml);
        Assert.Contains("lr: 2.5e-4", yaml);
        Assert.Contains("max_epochs: 2", yaml);
    }
}
