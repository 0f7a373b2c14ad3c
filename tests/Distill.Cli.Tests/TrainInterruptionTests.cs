using System.Globalization;
using System.Text.RegularExpressions;
using Distill.Cli.Tests.Support;
using Distill.Training.Checkpoints;
using Xunit.Abstractions;

namespace Distill.Cli.Tests;

/// <summary>
/// `distill train` stopped from outside: SIGTERM mid-epoch, SIGKILL in the middle of a checkpoint write, and a second
/// run started on the same run directory. Each interrupted run, once resumed, must end with exactly the weights,
/// EMA and optimizer state of the fixture's uninterrupted run of the same config.
/// </summary>
[Collection(CliCollection.Name)]
public sealed partial class TrainInterruptionTests(CliFixture f, ITestOutputHelper output)
{
    private static readonly TimeSpan LineTimeout = TimeSpan.FromMinutes(2);

    [GeneratedRegex(@"epoch (\d+) \[(\d+)/(\d+)\]")]
    private static partial Regex StepLine();

    [GeneratedRegex(@"stopped at epoch (\d+), batch (\d+); (\S+) continues with --resume")]
    private static partial Regex StopLine();

    private static bool IsStep(string line, int epoch, int batch) =>
        StepLine().Match(line) is { Success: true } m && m.Groups[1].Value == epoch.ToString(CultureInfo.InvariantCulture)
        && m.Groups[2].Value == batch.ToString(CultureInfo.InvariantCulture);

    private static int BatchesPerEpoch(string stepLine) => int.Parse(StepLine().Match(stepLine).Groups[3].Value, CultureInfo.InvariantCulture);

    [Fact]
    public void SigtermMidEpochExitsZeroWithACheckpointAndResumingMatchesTheUninterruptedRun()
    {
        var dir = f.RunDir("sigterm");
        var last = Path.Combine(dir, "last.safetensors");
        CliResult stopped;
        int batches;
        using (var run = f.Start("train", "configs/tiny.yaml", "--work-dir", dir))
        {
            // The third step of epoch 2: inside an epoch, after the first epoch's end (checkpoint, schedule) went by.
            var line = run.WaitForLine(l => IsStep(l, 2, 3), LineTimeout, "the log line of epoch 2, step 3");
            batches = BatchesPerEpoch(line);
            run.Signal(Posix.SIGTERM);
            stopped = run.WaitForExit(DistillCli.Timeout);
        }
        Assert.True(stopped.ExitCode == 0, stopped.ToString());
        Assert.True(File.Exists(last), $"no {last} after SIGTERM:\n{stopped}");

        // The log says where the run stopped and which file continues it, on the console and in train.log.
        var m = StopLine().Match(stopped.Output);
        Assert.True(m.Success, "no 'stopped at ...' line:\n" + stopped);
        Assert.Equal("last.safetensors", m.Groups[3].Value);
        Assert.Contains(m.Value, File.ReadAllText(Path.Combine(dir, "train.log")));
        int epoch = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        int batch = int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
        Assert.Equal(2, epoch);
        Assert.InRange(batch, 3, batches - 1); // mid-epoch: a resume has to continue inside it

        // The checkpoint records the same place (0-based epoch) and the optimizer steps taken so far.
        var state = CheckpointFiles.State(last);
        Assert.Equal(epoch - 1, state.Epoch);
        Assert.Equal(batch, state.BatchInEpoch);
        Assert.Equal(batches + batch, state.Iteration);

        var resumed = f.Run("train", "configs/tiny.yaml", "--work-dir", dir, "--resume");
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.Contains($"batch {batch}, iteration {batches + batch}", resumed.Output);
        Assert.Equal(3 * batches, CheckpointFiles.State(last).Iteration);
        CheckpointFiles.AssertSameTensors(f.ReferenceCheckpoint, last);
    }

    [Fact]
    public void SigkillDuringACheckpointWriteLeavesThePreviousCheckpointLoadableAndResumable()
    {
        var dir = f.RunDir("sigkill");
        var last = Path.Combine(dir, "last.safetensors");
        Directory.CreateDirectory(dir);
        string? interruptedWrite = null;
        var attempts = new List<string>();
        // The kill is sent the moment a replacement of an existing last.safetensors starts; it lands inside the write
        // when that write's temporary file outlives the process. Should a write win the race, the run is resumed (or,
        // once finished, started over) and the next write is tried.
        for (int attempt = 0; attempt < 6 && interruptedWrite is null; attempt++)
        {
            bool resume = File.Exists(last) && CheckpointFiles.State(last).Iteration < f.ReferenceIterations;
            if (!resume && File.Exists(last)) Directory.Delete(dir, recursive: true);
            Directory.CreateDirectory(dir);
            using var watcher = new FileSystemWatcher(dir, ".last.safetensors.*.tmp");
            var killed = new ManualResetEventSlim();
            CliRun? target = null;
            watcher.Created += (_, e) =>
            {
                if (target is null || killed.IsSet || !File.Exists(last)) return;
                Posix.Kill(target.Pid, Posix.SIGKILL);
                killed.Set();
            };
            watcher.EnableRaisingEvents = true;
            string[] args = resume
                ? ["train", "configs/tiny.yaml", "--work-dir", dir, "--resume"]
                : ["train", "configs/tiny.yaml", "--work-dir", dir];
            using var run = f.Start(args);
            target = run;
            var result = run.WaitForExit(DistillCli.Timeout);
            watcher.EnableRaisingEvents = false;
            attempts.Add($"attempt {attempt + 1}: {(resume ? "resumed" : "fresh")} run, exit {result.ExitCode}, kill sent: {killed.IsSet}, " +
                $"write interrupted: {Directory.GetFiles(dir, ".last.safetensors.*.tmp").Length > 0}");
            output.WriteLine(attempts[^1]);
            if (!killed.IsSet)
            {
                Assert.True(result.ExitCode == 0, result.ToString());
                continue;
            }
            Assert.Equal(128 + Posix.SIGKILL, result.ExitCode);
            interruptedWrite = Directory.GetFiles(dir, ".last.safetensors.*.tmp").FirstOrDefault();
        }
        Assert.True(interruptedWrite is not null, "no SIGKILL landed inside a write of last.safetensors:\n" + string.Join('\n', attempts));

        // The interrupted write left its temporary file, and last.safetensors is the complete previous checkpoint.
        var state = CheckpointFiles.State(last);
        Assert.Equal(0, state.BatchInEpoch);
        Assert.InRange(state.Epoch, 1, 2);
        using (var ckpt = CheckpointStore.Load(last))
        {
            Assert.Equal(state.Iteration, ckpt.State.Iteration);
            Assert.NotEmpty(ckpt.WithPrefix("student."));
            Assert.NotEmpty(ckpt.WithPrefix("optimizer."));
        }
        // SIGKILL gave the run no chance to release its lock; a resume must take the stale lock over.
        Assert.True(File.Exists(Path.Combine(dir, ".lock")), "the killed run's lock file is gone");

        var resumed = f.Run("train", "configs/tiny.yaml", "--work-dir", dir, "--resume");
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.Contains($"batch 0, iteration {state.Iteration}", resumed.Output);
        CheckpointFiles.AssertSameTensors(f.ReferenceCheckpoint, last);
    }

    [Fact]
    public void ASecondRunOnTheSameDirectoryIsRefusedAndTheFirstIsUnaffected()
    {
        var dir = f.RunDir("locked");
        using var first = f.Start("train", "configs/tiny.yaml", "--work-dir", dir);
        first.WaitForLine(l => IsStep(l, 1, 1), LineTimeout, "the first step");
        // Stopped (not ended) while the second run tries: the lock's owner is alive for certain, however slowly
        // the second process starts.
        first.Signal(Posix.SIGSTOP);
        CliResult second;
        try
        {
            second = f.Run("train", "configs/tiny.yaml", "--work-dir", dir);
        }
        finally
        {
            first.Signal(Posix.SIGCONT);
        }
        Assert.True(second.ExitCode != 0, second.ToString());
        var lockFile = Path.Combine(dir, ".lock");
        var refusal = second.StdOut.Concat(second.StdErr).Where(l => l.Contains("in use by another run", StringComparison.Ordinal)).ToList();
        Assert.True(refusal.Count == 1, second.ToString());
        Assert.Contains(dir, refusal[0]);
        Assert.Contains(lockFile, refusal[0]);
        Assert.Contains($"process {first.Pid}", refusal[0]);
        Assert.DoesNotContain("epoch 1 [", second.Output);

        var result = first.WaitForExit(DistillCli.Timeout);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("run finished", result.Output);
        CheckpointFiles.AssertSameTensors(f.ReferenceCheckpoint, Path.Combine(dir, "last.safetensors"));
        Assert.False(File.Exists(lockFile), "the finished run left its lock behind");
    }
}
