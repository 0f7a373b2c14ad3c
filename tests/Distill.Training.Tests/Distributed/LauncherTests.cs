using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace Distill.Training.Tests.Distributed;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class DataParallelCollection
{
    public const string Name = "data-parallel processes";
}

/// <summary>
/// Data-parallel training end to end: <c>distill train --nproc-per-node</c> starts real worker processes that meet
/// over loopback TCP and train with Gloo, checked against one process, against an uninterrupted run and for failures.
/// </summary>
[Collection(DataParallelCollection.Name)]
public sealed class LauncherTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(120);
    private readonly DataParallelRun _run = new();

    private static List<JsonElement> Metrics(string runDir) =>
        File.ReadAllLines(Path.Combine(runDir, "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();

    private static string[] Files(string dir) =>
        Directory.GetFiles(dir, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(dir, f))
            .Select(f => f.StartsWith("tensorboard", StringComparison.Ordinal) ? "tensorboard/*" : f).Order().ToArray();

    [Fact]
    public void Two_workers_train_like_one_process_with_twice_the_batch_and_only_rank_0_writes()
    {
        // The RTMPose loss sums over the batch and workers average their gradients (as PyTorch's DDP does), so two
        // workers of batch 2 get half the gradient of one process of batch 4; SGD is linear in it, so twice the
        // learning rate makes the runs equal: here through linear LR scaling, global batch 4 against a base of 2.
        // 14 training samples: 3 steps of 4 samples, the same ones in both runs.
        var single = _run.Config("single", batch: 4);
        var dist = _run.Config("dist", "{max_epochs: 1, val_interval: 1, log_interval: 1, dist: {base_batch_size: 2}}", batch: 2);
        var (c1, o1) = DataParallelRun.Run(Limit, "train", single);
        Assert.True(c1 == 0, o1);
        var (c2, o2) = DataParallelRun.Run(Limit, "train", dist, "--nproc-per-node", "2", "--master-port", DataParallelRun.FreePort().ToString());
        Assert.True(c2 == 0, o2);
        Assert.Contains("2 workers x batch 2 = global batch 4", o2);
        Assert.Contains("learning rate scaled by 2 (global batch 4 / train.dist.base_batch_size 2): lr 0.1", o2);

        var diff = DataParallelRun.MaxDifference(DataParallelRun.Student(Path.Combine(_run.RunDir("single"), "last.safetensors")),
            DataParallelRun.Student(Path.Combine(_run.RunDir("dist"), "last.safetensors")));
        Assert.True(diff < 1e-5, $"max weight difference {diff}");

        // Logged step losses are means over the workers: each worker's sum over 2 samples, half of the single run's sum over 4.
        var m1 = Metrics(_run.RunDir("single")).Where(e => e.TryGetProperty("train/loss", out _)).ToList();
        var m2 = Metrics(_run.RunDir("dist")).Where(e => e.TryGetProperty("train/loss", out _)).ToList();
        Assert.Equal(3, m1.Count);
        Assert.Equal(3, m2.Count);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(m1[i].GetProperty("train/loss").GetDouble(), 2 * m2[i].GetProperty("train/loss").GetDouble(), 5);
            Assert.Equal(2 * m1[i].GetProperty("train/lr").GetDouble(), m2[i].GetProperty("train/lr").GetDouble(), 12);
        }

        // Rank 0 alone writes: the same files as the single run, one event file, no second train.log or metrics line.
        Assert.Equal(Files(_run.RunDir("single")), Files(_run.RunDir("dist")));
        Assert.Single(Directory.GetFiles(Path.Combine(_run.RunDir("dist"), "tensorboard")));
        Assert.Equal(Metrics(_run.RunDir("single")).Count, Metrics(_run.RunDir("dist")).Count);
    }

    [Fact]
    public void Two_workers_with_sync_bn_train_a_batchnorm_network_like_one_process()
    {
        // A CSPNeXt student has BatchNorm everywhere: with model.sync_bn its statistics span both workers' batches,
        // so the runs agree as for a network without BatchNorm (see above for the doubled learning rate).
        const string cspnext = "{type: CSPNeXt, deepen_factor: 0.167, widen_factor: 0.125}";
        var single = _run.Config("bn_single", batch: 4, backbone: cspnext);
        var dist = _run.Config("bn_dist", "{max_epochs: 1, val_interval: 1, log_interval: 1, dist: {base_batch_size: 2}}", batch: 2,
            backbone: cspnext, syncBn: true);
        var (c1, o1) = DataParallelRun.Run(Limit, "train", single);
        Assert.True(c1 == 0, o1);
        var (c2, o2) = DataParallelRun.Run(Limit, "train", dist, "--nproc-per-node", "2", "--master-port", DataParallelRun.FreePort().ToString());
        Assert.True(c2 == 0, o2);
        Assert.Contains("BatchNorm layers take their statistics over all 2 workers", o2);
        // Running statistics included: rank 0's are the whole batch's.
        var diff = DataParallelRun.MaxDifference(DataParallelRun.Student(Path.Combine(_run.RunDir("bn_single"), "last.safetensors")),
            DataParallelRun.Student(Path.Combine(_run.RunDir("bn_dist"), "last.safetensors")));
        Assert.True(diff < 1e-5, $"max weight difference {diff}");
    }

    [Fact]
    public async Task Sigterm_to_the_launcher_checkpoints_once_and_resume_gives_the_uninterrupted_weights()
    {
        const string train = "{max_epochs: 12, val_interval: 12, log_interval: 1}";
        var whole = _run.Config("whole", train);
        var stopped = _run.Config("stopped", train);
        string port = DataParallelRun.FreePort().ToString();
        var (c0, o0) = DataParallelRun.Run(Limit, "train", whole, "--nproc-per-node", "2", "--master-port", port);
        Assert.True(c0 == 0, o0);

        using (var p = DataParallelRun.Start("train", stopped, "--nproc-per-node", "2", "--master-port", port))
        {
            var output = DataParallelRun.Collect(p);
            var metrics = Path.Combine(_run.RunDir("stopped"), "metrics.jsonl");
            var sw = Stopwatch.StartNew();
            // Stop as soon as the first step is logged, well before the 36th.
            while (!(File.Exists(metrics) && new FileInfo(metrics).Length > 0) && !p.HasExited && sw.Elapsed < Limit) Thread.Sleep(20);
            Assert.False(p.HasExited, "the run ended before it could be stopped");
            Assert.Equal(0, Kill(p.Id, 15));
            Assert.True(p.WaitForExit(Limit));
            var text = await output;
            Assert.True(p.ExitCode == 0, text);
            Assert.Contains("stopped at epoch", text);
        }
        var dir = _run.RunDir("stopped");
        Assert.Equal(new[] { "last.safetensors" }, Directory.GetFiles(dir, "*.safetensors").Select(Path.GetFileName));

        var (c2, o2) = DataParallelRun.Run(Limit, "train", stopped, "--resume", "--nproc-per-node", "2", "--master-port", port);
        Assert.True(c2 == 0, o2);
        Assert.Contains("resumed from", o2);
        var diff = DataParallelRun.MaxDifference(DataParallelRun.Student(Path.Combine(_run.RunDir("whole"), "last.safetensors")),
            DataParallelRun.Student(Path.Combine(dir, "last.safetensors")));
        Assert.True(diff < 1e-6, $"max weight difference {diff}");
    }

    [Fact]
    public async Task A_run_stopped_with_two_workers_resumes_in_one_process()
    {
        var cfg = _run.Config("regrouped", "{max_epochs: 12, val_interval: 12, log_interval: 1}");
        using (var p = DataParallelRun.Start("train", cfg, "--nproc-per-node", "2", "--master-port", DataParallelRun.FreePort().ToString()))
        {
            var output = DataParallelRun.Collect(p);
            var metrics = Path.Combine(_run.RunDir("regrouped"), "metrics.jsonl");
            var sw = Stopwatch.StartNew();
            while (!(File.Exists(metrics) && new FileInfo(metrics).Length > 0) && !p.HasExited && sw.Elapsed < Limit) Thread.Sleep(20);
            Assert.False(p.HasExited, "the run ended before it could be stopped");
            Assert.Equal(0, Kill(p.Id, 15));
            Assert.True(p.WaitForExit(Limit));
            Assert.True(p.ExitCode == 0, await output);
        }
        // 7 samples per worker (3 batches of 2) become 14 for one process (7 batches): the stopped epoch continues at twice the batch.
        var (code, text) = DataParallelRun.Run(Limit, "train", cfg, "--resume");
        Assert.True(code == 0, text);
        Assert.Matches(@"resuming a run of 2 workers with 1: epoch \d+ continues at batch (\d+) instead of \d+", text);
        var m = System.Text.RegularExpressions.Regex.Match(text, @"continues at batch (\d+) instead of (\d+)");
        Assert.Equal(2 * int.Parse(m.Groups[2].Value), int.Parse(m.Groups[1].Value));
        var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(_run.RunDir("regrouped"), "summary.json"))).RootElement;
        Assert.Equal(12, summary.GetProperty("epochs").GetInt32());
    }

    [Fact]
    public async Task A_worker_killed_with_sigkill_ends_the_run_naming_its_rank()
    {
        var cfg = _run.Config("killed", "{max_epochs: 2000, val_interval: 1000, log_interval: 1, dist: {timeout_s: 20}}");
        using var p = DataParallelRun.Start("train", cfg, "--nproc-per-node", "2", "--master-port", DataParallelRun.FreePort().ToString());
        var output = DataParallelRun.Collect(p);
        var metrics = Path.Combine(_run.RunDir("killed"), "metrics.jsonl");
        var sw = Stopwatch.StartNew();
        while (!(File.Exists(metrics) && new FileInfo(metrics).Length > 0) && !p.HasExited && sw.Elapsed < Limit) Thread.Sleep(20);
        int rank1 = WorkerOf(p.Id, 1);
        Assert.Equal(0, Kill(rank1, 9));
        sw.Restart();
        Assert.True(p.WaitForExit(TimeSpan.FromSeconds(40)), "the launcher did not end within the timeout");
        Assert.NotEqual(0, p.ExitCode);
        Assert.Contains($"rank 1 (pid {rank1}) was killed by signal 9", await output);
    }

    [Fact]
    public async Task Two_launchers_on_one_machine_train_as_two_nodes_like_one_launcher_with_two_workers()
    {
        var cfg = _run.Config("nodes");
        var reference = _run.Config("local");
        string port = DataParallelRun.FreePort().ToString();
        var (c0, o0) = DataParallelRun.Run(Limit, "train", reference, "--nproc-per-node", "2", "--master-port", port);
        Assert.True(c0 == 0, o0);

        string[] Node(int rank) => ["train", cfg, "--nproc-per-node", "1", "--nnodes", "2", "--node-rank", rank.ToString(),
            "--master-addr", "127.0.0.1", "--master-port", port];
        using var n0 = DataParallelRun.Start(Node(0));
        using var n1 = DataParallelRun.Start(Node(1));
        var out0 = DataParallelRun.Collect(n0);
        var out1 = DataParallelRun.Collect(n1);
        Assert.True(n0.WaitForExit(Limit) && n1.WaitForExit(Limit));
        Assert.True(n0.ExitCode == 0, await out0);
        Assert.True(n1.ExitCode == 0, await out1);
        var diff = DataParallelRun.MaxDifference(DataParallelRun.Student(Path.Combine(_run.RunDir("local"), "last.safetensors")),
            DataParallelRun.Student(Path.Combine(_run.RunDir("nodes"), "last.safetensors")));
        Assert.True(diff < 1e-6, $"max weight difference {diff}");
    }

    [Fact]
    public async Task Workers_started_with_torchruns_environment_train_together_without_the_launcher()
    {
        // As torchrun's workers without an agent store: rank 0 hosts the store itself, rank 1 connects (and retries
        // until rank 0 listens). The result equals the launcher's two-worker run.
        var reference = _run.Config("launched");
        var direct = _run.Config("direct");
        string port = DataParallelRun.FreePort().ToString();
        var (c0, o0) = DataParallelRun.Run(Limit, "train", reference, "--nproc-per-node", "2", "--master-port", port);
        Assert.True(c0 == 0, o0);
        Dictionary<string, string> Env(int rank) => new()
        {
            ["RANK"] = rank.ToString(), ["LOCAL_RANK"] = rank.ToString(), ["WORLD_SIZE"] = "2", ["LOCAL_WORLD_SIZE"] = "2",
            ["MASTER_ADDR"] = "127.0.0.1", ["MASTER_PORT"] = port,
        };
        using var w1 = DataParallelRun.StartWith(Env(1), "train", direct);
        Thread.Sleep(500);
        using var w0 = DataParallelRun.StartWith(Env(0), "train", direct);
        var out0 = DataParallelRun.Collect(w0);
        var out1 = DataParallelRun.Collect(w1);
        Assert.True(w0.WaitForExit(Limit) && w1.WaitForExit(Limit));
        Assert.True(w0.ExitCode == 0, await out0);
        Assert.True(w1.ExitCode == 0, await out1);
        Assert.Contains("2 workers x batch 2 = global batch 4", await out0);
        Assert.DoesNotContain("info:", await out1); // rank 1 logs warnings and errors only
        var diff = DataParallelRun.MaxDifference(DataParallelRun.Student(Path.Combine(_run.RunDir("launched"), "last.safetensors")),
            DataParallelRun.Student(Path.Combine(_run.RunDir("direct"), "last.safetensors")));
        Assert.True(diff < 1e-6, $"max weight difference {diff}");
    }

    [Fact]
    public void A_port_in_use_is_a_one_line_error()
    {
        var listener = new TcpListener(IPAddress.Any, 0);
        listener.Start();
        try
        {
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            var (code, output) = DataParallelRun.Run(Limit, "train", _run.Config("busy"), "--nproc-per-node", "2", "--master-port", port.ToString());
            Assert.Equal(1, code);
            Assert.Contains($"--master-port {port}", output);
            Assert.Single(output.Trim().Split('\n'));
        }
        finally
        {
            listener.Stop();
        }
    }

    [Fact]
    public void A_node_rank_outside_the_nodes_is_a_one_line_error()
    {
        var (code, output) = DataParallelRun.Run(Limit, "train", _run.Config("rank"), "--nproc-per-node", "1", "--nnodes", "2", "--node-rank", "2");
        Assert.Equal(1, code);
        Assert.Equal("distill: --node-rank 2 is outside 0..1 (--nnodes 2)", output.Trim());
    }

    [Fact]
    public async Task Launchers_that_disagree_on_the_world_size_fail_with_one_line_each()
    {
        var cfg = _run.Config("mismatch", "{max_epochs: 1, val_interval: 1, dist: {timeout_s: 15}}");
        string port = DataParallelRun.FreePort().ToString();
        using var n0 = DataParallelRun.Start("train", cfg, "--nproc-per-node", "1", "--nnodes", "2", "--node-rank", "0", "--master-port", port);
        Thread.Sleep(300);
        using var n1 = DataParallelRun.Start("train", cfg, "--nproc-per-node", "2", "--nnodes", "2", "--node-rank", "1", "--master-port", port);
        var out0 = DataParallelRun.Collect(n0);
        var out1 = DataParallelRun.Collect(n1);
        Assert.True(n0.WaitForExit(Limit) && n1.WaitForExit(Limit));
        var text0 = await out0;
        var text1 = await out1;
        Assert.True(n1.ExitCode == 1, text1);
        Assert.Equal("distill: world-size mismatch: node 0 runs --nnodes 2 --nproc-per-node 1, node 1 --nnodes 2 --nproc-per-node 2", text1.Trim());
        Assert.True(n0.ExitCode == 1, text0);
        Assert.Equal("distill: another node: world-size mismatch: node 0 runs --nnodes 2 --nproc-per-node 1, node 1 --nnodes 2 --nproc-per-node 2",
            text0.Trim());
    }

    /// <summary>The pid of the launcher's child whose RANK is <paramref name="rank"/>.</summary>
    private static int WorkerOf(int launcher, int rank)
    {
        foreach (var task in Directory.GetDirectories($"/proc/{launcher}/task"))
            foreach (var child in File.ReadAllText(Path.Combine(task, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries))
                if (File.ReadAllText($"/proc/{child}/environ").Split('\0').Contains($"RANK={rank}")) return int.Parse(child);
        throw new InvalidOperationException($"no worker of rank {rank} under process {launcher}");
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);

    private static int Kill(int pid, int sig) => kill(pid, sig);

    public void Dispose() => _run.Dispose();
}

/// <summary>train.precision through the CLI, one process.</summary>
[Collection(DataParallelCollection.Name)]
public sealed class PrecisionTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(120);
    private readonly DataParallelRun _run = new();

    [Fact]
    public void A_bf16_run_keeps_float32_weights_and_close_but_not_equal_losses()
    {
        var fp32 = _run.Config("fp32");
        var bf16 = _run.Config("bf16", "{max_epochs: 1, val_interval: 1, log_interval: 1, precision: bf16}");
        var (c1, o1) = DataParallelRun.Run(Limit, "train", fp32);
        Assert.True(c1 == 0, o1);
        var (c2, o2) = DataParallelRun.Run(Limit, "train", bf16);
        Assert.True(c2 == 0, o2);
        var tensors = Distill.Torch.Serialization.SafeTensors.Load(Path.Combine(_run.RunDir("bf16"), "last.safetensors"));
        Assert.All(tensors.Where(kv => kv.Key.StartsWith("student.", StringComparison.Ordinal) && !kv.Key.EndsWith("num_batches_tracked")),
            kv => Assert.Equal(Distill.Torch.DType.Float32, kv.Value.DType));
        foreach (var t in tensors.Values) t.Dispose();

        static double[] Losses(string dir) => File.ReadAllLines(Path.Combine(dir, "metrics.jsonl"))
            .Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement)
            .Where(e => e.TryGetProperty("train/loss", out _)).Select(e => e.GetProperty("train/loss").GetDouble()).ToArray();
        var l32 = Losses(_run.RunDir("fp32"));
        var l16 = Losses(_run.RunDir("bf16"));
        Assert.Equal(7, l16.Length); // 14 samples in batches of 2
        // bf16 keeps about 3 significant digits: the first step's loss (same weights, same batch) differs, but only a little.
        Assert.NotEqual(l32[0], l16[0]);
        Assert.True(Math.Abs(l32[0] - l16[0]) < 0.02 * l32[0], $"{l32[0]} vs {l16[0]}");
    }

    [Fact]
    public void Fp16_on_the_cpu_is_a_config_error()
    {
        var (code, output) = DataParallelRun.Run(Limit, "train", _run.Config("fp16", "{max_epochs: 1, val_interval: 1, precision: fp16}"));
        Assert.Equal(1, code);
        Assert.Contains("train.precision: fp16 needs a CUDA device", output);
    }

    public void Dispose() => _run.Dispose();
}
