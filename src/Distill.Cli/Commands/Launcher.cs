using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Distill.Torch;
using Distill.Torch.Distributed;
using Distill.Training.Config;
using Distill.Training.Distributed;
using Distill.Training.Engine;

namespace Distill.Cli.Commands;

/// <summary>What <c>distill train --nproc-per-node</c> was asked to start on this machine.</summary>
internal sealed record LaunchPlan(int NprocPerNode, int Nnodes, int NodeRank, string MasterAddr, int MasterPort)
{
    public int WorldSize => NprocPerNode * Nnodes;
}

/// <summary>The launcher's flags; torchrun's names, and its MASTER_ADDR/MASTER_PORT environment as their defaults.</summary>
internal sealed class LaunchOptionSet
{
    private readonly Option<int?> _nproc = new("--nproc-per-node")
    {
        Description = "Train data-parallel with this many worker processes on this machine (each gets cores / N intra-op threads).",
    };
    private readonly Option<int?> _nnodes = new("--nnodes") { Description = "Machines taking part (default 1); start the same command on each." };
    private readonly Option<int?> _nodeRank = new("--node-rank") { Description = "This machine's index, 0..nnodes-1 (default 0); node 0 hosts the rendezvous." };
    private readonly Option<string?> _masterAddr = new("--master-addr") { Description = "Address of node 0 (default $MASTER_ADDR, else 127.0.0.1)." };
    private readonly Option<int?> _masterPort = new("--master-port") { Description = "Free TCP port on node 0 for the rendezvous (default $MASTER_PORT, else 29500)." };

    public void AddTo(Command cmd)
    {
        cmd.Options.Add(_nproc);
        cmd.Options.Add(_nnodes);
        cmd.Options.Add(_nodeRank);
        cmd.Options.Add(_masterAddr);
        cmd.Options.Add(_masterPort);
    }

    /// <summary>The launch asked for, or null when none of the launcher flags is given (a plain run, or a worker).</summary>
    public LaunchPlan? Requested(ParseResult r)
    {
        int? nproc = r.GetValue(_nproc), nnodes = r.GetValue(_nnodes), nodeRank = r.GetValue(_nodeRank), port = r.GetValue(_masterPort);
        string? addr = r.GetValue(_masterAddr);
        if (nproc is null && nnodes is null && nodeRank is null && addr is null && port is null) return null;
        if (DistributedEnvironment.FromEnvironment() is not null)
            throw new TrainingException("--nproc-per-node: this process is already a data-parallel worker (WORLD_SIZE is set); drop the launcher flags");
        int n = nproc ?? 1, nodes = nnodes ?? 1, node = nodeRank ?? 0;
        if (n < 1) throw new TrainingException($"--nproc-per-node must be at least 1, got {n}");
        if (nodes < 1) throw new TrainingException($"--nnodes must be at least 1, got {nodes}");
        if (node < 0 || node >= nodes) throw new TrainingException($"--node-rank {node} is outside 0..{nodes - 1} (--nnodes {nodes})");
        addr ??= Environment.GetEnvironmentVariable("MASTER_ADDR") is { Length: > 0 } a ? a : "127.0.0.1";
        if (port is null && Environment.GetEnvironmentVariable("MASTER_PORT") is { Length: > 0 } p)
            port = int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v
                : throw new TrainingException($"environment: MASTER_PORT='{p}' is not a TCP port");
        int mp = port ?? 29500;
        if (mp is < 1 or > 65535) throw new TrainingException($"--master-port {mp} is not a TCP port (1..65535)");
        return new LaunchPlan(n, nodes, node, addr, mp);
    }
}

/// <summary>
/// Starts this machine's workers of a data-parallel run and watches them, as torchrun does with its static
/// rendezvous: node 0's launcher hosts the TCP store the workers meet in; each worker is this same program run as
/// <c>distill train</c> with RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT set. SIGTERM
/// or Ctrl+C is passed to every worker, which finish their step, checkpoint (rank 0) and exit 0. A worker that fails
/// makes the launcher stop the others and exit 1, naming its rank.
/// </summary>
internal static class Launcher
{
    private const int SIGTERM = 15, SIGKILL = 9;
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(30);

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);

    public static int Run(LaunchPlan plan, TrainingRequest request)
    {
        // Config errors are reported once here rather than by every worker; the timeout bounds the rendezvous too.
        var options = ExperimentConfig.Load(request.ConfigPath, request.Overrides, out _);
        var timeout = TimeSpan.FromSeconds(options.Train.Dist.TimeoutS);
        var workDir = Path.GetFullPath(request.WorkDir ?? options.WorkDir ?? Path.Combine("experiments", options.Name ?? "run"));

        using var store = Rendezvous(plan, timeout);
        var workers = new List<(int Rank, Process Process)>();
        var stop = new CancellationTokenSource();
        void Forward(PosixSignalContext ctx)
        {
            ctx.Cancel = true; // the launcher stays until its workers are done
            if (stop.IsCancellationRequested) return;
            stop.Cancel();
            Console.Error.WriteLine($"distill: {ctx.Signal} received; the workers finish their step and checkpoint");
            lock (workers)
                foreach (var (_, p) in workers) Signal(p, SIGTERM);
        }
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Forward);
        using var intr = PosixSignalRegistration.Create(PosixSignal.SIGINT, Forward);
        using var hup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, Forward);

        int threads = Math.Max(1, Environment.ProcessorCount / plan.NprocPerNode);
        try
        {
            for (int local = 0; local < plan.NprocPerNode; local++)
            {
                int rank = plan.NodeRank * plan.NprocPerNode + local;
                var p = Process.Start(WorkerStart(plan, request, workDir, rank, local, threads))
                    ?? throw new TrainingException($"cannot start worker {rank}");
                lock (workers) workers.Add((rank, p));
                if (stop.IsCancellationRequested) Signal(p, SIGTERM);
            }
        }
        catch
        {
            lock (workers) foreach (var (_, p) in workers) Signal(p, SIGKILL);
            throw;
        }
        Console.Error.WriteLine($"distill: node {plan.NodeRank}/{plan.Nnodes}: started ranks {workers[0].Rank}..{workers[^1].Rank} of {plan.WorldSize} " +
            $"(rendezvous {plan.MasterAddr}:{plan.MasterPort}, {threads} threads each)");
        return Watch(workers);
    }

    /// <summary>Waits for every worker; the first that fails has the others stopped (SIGTERM, then SIGKILL after a grace period).</summary>
    private static int Watch(List<(int Rank, Process Process)> workers)
    {
        (int Rank, int Pid, int Code)? failed = null;
        var pending = workers.ToDictionary(w => w.Process.WaitForExitAsync(), w => w);
        DateTime? killAt = null;
        while (pending.Count > 0)
        {
            var wait = Task.WhenAny(pending.Keys);
            if (killAt is { } k)
            {
                if (!wait.Wait(Max(TimeSpan.Zero, k - DateTime.UtcNow)))
                {
                    foreach (var (_, p) in pending.Values) Signal(p, SIGKILL);
                    killAt = null;
                    continue;
                }
            }
            var done = wait.Result;
            var (rank, proc) = pending[done];
            pending.Remove(done);
            int code = proc.ExitCode;
            if (code != 0 && failed is null)
            {
                failed = (rank, proc.Id, code);
                Console.Error.WriteLine($"distill: {Describe(rank, proc.Id, code)}; stopping the other workers");
                foreach (var (_, p) in pending.Values) Signal(p, SIGTERM);
                killAt = DateTime.UtcNow + Grace;
            }
        }
        foreach (var (_, p) in workers) p.Dispose();
        if (failed is { } f)
        {
            Console.Error.WriteLine($"distill: training failed: {Describe(f.Rank, f.Pid, f.Code)}");
            return 1;
        }
        return 0;
    }

    private static string Describe(int rank, int pid, int code) =>
        code > 128 ? $"rank {rank} (pid {pid}) was killed by signal {code - 128}" : $"rank {rank} (pid {pid}) exited with code {code}";

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private static void Signal(Process p, int sig)
    {
        try
        {
            if (!p.HasExited) kill(p.Id, sig);
        }
        catch (InvalidOperationException)
        {
            // already reaped
        }
    }

    /// <summary>
    /// Node 0 hosts the store; every node checks in, so that a node rank taken twice or launchers that disagree on the
    /// world size fail at once with one line instead of leaving the workers to time out.
    /// </summary>
    private static Store Rendezvous(LaunchPlan plan, TimeSpan timeout)
    {
        if (plan.NodeRank == 0 && !PortFree(plan.MasterPort))
            throw new TrainingException($"--master-port {plan.MasterPort} is in use on this machine; pick a free port for the rendezvous");
        Store store;
        try
        {
            store = plan.NodeRank == 0
                ? new TcpStore(plan.MasterAddr, plan.MasterPort, isServer: true, null, timeout, waitWorkers: false)
                : TcpStore.Connect(plan.MasterAddr, plan.MasterPort, timeout);
        }
        catch (TorchException e) when (plan.NodeRank == 0)
        {
            throw new TrainingException($"--master-port {plan.MasterPort}: cannot host the rendezvous on {plan.MasterAddr} " +
                $"({FirstLine(e.Message)}); is the port in use? Pick another with --master-port");
        }
        catch (TorchException e)
        {
            throw new TrainingException($"--master-addr {plan.MasterAddr} --master-port {plan.MasterPort}: node 0 did not answer ({FirstLine(e.Message)})");
        }
        try
        {
            string shape = $"--nnodes {plan.Nnodes} --nproc-per-node {plan.NprocPerNode}";
            if (store.Add($"/launch/node/{plan.NodeRank}", 1) > 1)
                Fail(store, $"--node-rank {plan.NodeRank} is already taken by another launcher of this run");
            if (plan.NodeRank == 0)
            {
                store.Set("/launch/shape", shape);
                // Wait until every node has checked in, or one of them reports a problem.
                var deadline = DateTime.UtcNow + timeout;
                while (store.Add("/launch/joined", 0) < plan.Nnodes - 1)
                {
                    if (store.Add("/launch/errors", 0) > 0) throw new TrainingException($"another node: {store.GetString("/launch/error")}");
                    if (DateTime.UtcNow > deadline)
                        throw new TrainingException($"only {store.Add("/launch/joined", 0) + 1} of --nnodes {plan.Nnodes} nodes joined within train.dist.timeout_s");
                    Thread.Sleep(100);
                }
            }
            else
            {
                var expected = store.GetString("/launch/shape");
                if (expected != shape) Fail(store, $"world-size mismatch: node 0 runs {expected}, node {plan.NodeRank} {shape}");
                store.Add("/launch/joined", 1);
            }
            return store;
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    /// <summary>Whether nothing listens on <paramref name="port"/>; checked first so that a busy port is one line, not libtorch's retries.</summary>
    private static bool PortFree(int port)
    {
        try
        {
            using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetworkV6, System.Net.Sockets.SocketType.Stream,
                System.Net.Sockets.ProtocolType.Tcp) { DualMode = true };
            // Connections of a previous run still in TIME_WAIT do not make the port busy; a listener does.
            socket.SetSocketOption(System.Net.Sockets.SocketOptionLevel.Socket, System.Net.Sockets.SocketOptionName.ReuseAddress, true);
            socket.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.IPv6Any, port));
            return true;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }

    private static void Fail(Store store, string message)
    {
        store.Set("/launch/error", message);
        store.Add("/launch/errors", 1);
        throw new TrainingException(message);
    }

    private static ProcessStartInfo WorkerStart(LaunchPlan plan, TrainingRequest request, string workDir, int rank, int localRank, int threads)
    {
        var psi = new ProcessStartInfo { UseShellExecute = false };
        var host = Environment.ProcessPath ?? throw new TrainingException("cannot find this program's executable to start the workers");
        psi.FileName = host;
        // Under `dotnet distill.dll` the host is dotnet itself; the workers need the assembly too.
        if (Path.GetFileNameWithoutExtension(host) == "dotnet") psi.ArgumentList.Add(typeof(Launcher).Assembly.Location);
        psi.ArgumentList.Add("train");
        psi.ArgumentList.Add(Path.GetFullPath(request.ConfigPath));
        foreach (var s in request.Overrides)
        {
            psi.ArgumentList.Add("--set");
            psi.ArgumentList.Add(s);
        }
        psi.ArgumentList.Add("--work-dir");
        psi.ArgumentList.Add(workDir);
        if (request.Resume is { } resume)
        {
            psi.ArgumentList.Add("--resume");
            if (resume.Length > 0) psi.ArgumentList.Add(Path.GetFullPath(resume));
        }
        var env = psi.Environment;
        env["RANK"] = rank.ToString(CultureInfo.InvariantCulture);
        env["LOCAL_RANK"] = localRank.ToString(CultureInfo.InvariantCulture);
        env["GROUP_RANK"] = plan.NodeRank.ToString(CultureInfo.InvariantCulture);
        env["ROLE_RANK"] = rank.ToString(CultureInfo.InvariantCulture);
        env["WORLD_SIZE"] = plan.WorldSize.ToString(CultureInfo.InvariantCulture);
        env["LOCAL_WORLD_SIZE"] = plan.NprocPerNode.ToString(CultureInfo.InvariantCulture);
        env["GROUP_WORLD_SIZE"] = plan.Nnodes.ToString(CultureInfo.InvariantCulture);
        env["ROLE_WORLD_SIZE"] = plan.WorldSize.ToString(CultureInfo.InvariantCulture);
        env["MASTER_ADDR"] = plan.MasterAddr;
        env["MASTER_PORT"] = plan.MasterPort.ToString(CultureInfo.InvariantCulture);
        // The launcher hosts the store (torchrun's agent store): every worker is a client under this attempt's prefix.
        env["TORCHELASTIC_USE_AGENT_STORE"] = "True";
        env["TORCHELASTIC_RESTART_COUNT"] = "0";
        env["TORCHELASTIC_MAX_RESTARTS"] = "0";
        env["TORCHELASTIC_RUN_ID"] = "distill";
        // Workers share the machine's cores; an explicit OMP_NUM_THREADS is left alone.
        if (string.IsNullOrEmpty(env.TryGetValue("OMP_NUM_THREADS", out var omp) ? omp : null))
            env["OMP_NUM_THREADS"] = threads.ToString(CultureInfo.InvariantCulture);
        return psi;
    }

    private static string FirstLine(string s) => s.Split('\n', 2)[0].Trim();
}
