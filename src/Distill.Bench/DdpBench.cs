using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Distill.Pose.Codecs;
using Distill.Pose.Models;
using Distill.Torch;
using Distill.Torch.Serialization;

namespace Distill.Bench;

/// <summary>
/// `distill bench --suite ddp`: data-parallel training on c10d's Gloo process group, Distill against PyTorch's
/// DistributedDataParallel on the same libtorch. The step is the kd suite's student step of
/// <see cref="KdBench.ExperimentConfig"/> (RTMPose-t forward, SimCC ground-truth loss, backward, gradient clipping,
/// AdamW): its teachers run on every worker for that worker's batch and exchange nothing, so they are left out here.
/// Three groups of processes, all started by this one and driven over their standard input:
/// <list type="bullet">
/// <item>Distill, two workers (this program as <see cref="DdpWorker"/>, with torchrun's environment) averaging gradients through the Reducer;</item>
/// <item>PyTorch, two bench_ddp.py workers with the student in DistributedDataParallel;</item>
/// <item>Distill, one process with the workers' threads together and both batches concatenated (the scaling baseline).</item>
/// </list>
/// Each worker gets its own half of one fixed batch; all start from the same weights, and the first step's losses
/// must agree between the sides, and the weights after it between the ranks, before anything is timed. The groups
/// then take turns, a few steps each, the order rotating every repetition. Last, the cost of one step's gradient
/// synchronisation (what a reduced backward takes beyond a local one when every gradient is ready at once) is set
/// against a plain all-reduce of the same bytes on the same Gloo group, on each side.
/// </summary>
public static class DdpBench
{
    private const int Workers = 2;
    private const int Seed = 0;
    /// <summary>Relative loss differences above this fail the suite (the sides would not compute the same step).</summary>
    private const double ParityLimit = 1e-3;
    /// <summary>How long a collective waits for a peer (the workers' group timeout).</summary>
    private const int TimeoutS = 300;
    /// <summary>Timed synchronisations and all-reduces per side and round (two rounds, the sides alternating).</summary>
    private const int SyncReps = 10;

    /// <param name="root">The repository root, where <see cref="KdBench.ExperimentConfig"/> lives.</param>
    /// <param name="threads">The single process's intra-op threads; each of the two workers gets half.</param>
    /// <param name="batch">Samples per worker and step; the single process steps on twice as many.</param>
    /// <param name="python">Python with PyTorch, or "none" to time the Distill side alone.</param>
    /// <param name="self">Starts this program in its Distill worker mode; the suite adds --threads and the environment.</param>
    public static int Run(string root, int reps, int steps, int threads, int batch, string python, Func<ProcessStartInfo> self)
    {
        if (reps < 1) throw new ArgumentException("--reps must be at least 1");
        if (steps < 1) throw new ArgumentException("--steps must be at least 1");
        if (batch < 1) throw new ArgumentException("--batch must be at least 1");
        if (threads < 1) throw new ArgumentException("--threads must be at least 1");
        var clock = Stopwatch.StartNew();
        var configPath = Path.Combine(root, KdBench.ExperimentConfig);
        if (!File.Exists(configPath)) throw new FileNotFoundException($"ddp suite: experiment config not found: {configPath}", configPath);
        int perWorker = Math.Max(1, threads / Workers);
        var load = ModelBench.LoadAverage();
        Console.WriteLine($"distill bench --suite ddp: libtorch {torch.Version}, Gloo; {Workers} workers x {perWorker} thread(s) against 1 process x "
            + $"{threads} threads; batch {batch} per worker ({Workers * batch} in all); the student step of {KdBench.ExperimentConfig}; "
            + $"{reps} repetitions of {steps} steps per group; load average at start {load}");
        var dir = Directory.CreateTempSubdirectory("distill-bench-ddp-");
        try
        {
            return Measure(configPath, dir.FullName, reps, steps, threads, perWorker, batch, python, self, load, clock);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static int Measure(string configPath, string dir, int reps, int steps, int threads, int perWorker, int batch, string python,
        Func<ProcessStartInfo> self, string loadAtStart, Stopwatch clock)
    {
        var inv = CultureInfo.InvariantCulture;
        var o = Distill.Training.Config.ExperimentConfig.Load(configPath);
        torch.ManualSeed(Seed);
        var (student, set) = ModelFactory.Build(o.Model, o.Losses.Gt);
        using var _s = student;
        SafeTensors.Save(Path.Combine(dir, "student.safetensors"), student.StateDict());
        using var fixture = KdFixture.Create(Workers * batch, (SimCCLabel)student.Codec, set.Count, [], Seed);
        using (var scope = torch.NewDisposeScope())
        {
            var whole = fixture.Tensors();
            SafeTensors.Save(Path.Combine(dir, "batch.safetensors"), whole);
            for (int r = 0; r < Workers; r++)
                SafeTensors.Save(Path.Combine(dir, $"batch{r}.safetensors"),
                    whole.Select(kv => new KeyValuePair<string, Tensor>(kv.Key, kv.Value.Narrow(0, (long)r * batch, batch))));
        }
        long gradientElements;
        using (var step = new KdStep(o, student, fixture))
        using (var kd = step.DistillerFor([]))
        {
            KdBench.WriteSpec(Path.Combine(dir, "spec.json"), o, student, set.Count, [], step, kd);
            gradientElements = step.Parameters.Where(p => p.RequiresGrad).Sum(p => p.NumEl);
        }
        var spec = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "spec.json")))!;
        spec["config"] = configPath;
        spec["timeout_s"] = TimeoutS;
        string Spec(string name, string batchFile)
        {
            spec["batch"] = Path.Combine(dir, batchFile);
            var path = Path.Combine(dir, $"spec-{name}.json");
            File.WriteAllText(path, spec.ToJsonString());
            return path;
        }
        var single = Spec("single", "batch.safetensors");
        var ranks = Enumerable.Range(0, Workers).Select(r => Spec($"rank{r}", $"batch{r}.safetensors")).ToArray();
        double megabytes = gradientElements * 4 / 1e6;
        Console.WriteLine(string.Format(inv, "student: RTMPose-t {0}, {1}x{2}, {3:N0} trained parameters ({4:F1} MB of float32 gradients per step); "
            + "{5}; each worker keeps its own BatchNorm statistics", set.Name, o.Model.InputSize[0], o.Model.InputSize[1], gradientElements, megabytes,
            ChannelsLastNote(o, student)));

        bool withPyTorch = !string.Equals(python, "none", StringComparison.Ordinal);
        var all = new List<LineWorker>();
        try
        {
            var ports = FreePorts(2);
            var distill = new List<LineWorker>();
            for (int r = 0; r < Workers; r++)
                distill.Add(Track(all, LineWorker.Start(DistillWorker(self, perWorker, r, ports[0]), $"Distill rank {r}", "the distill worker mode")));
            var alone = Track(all, LineWorker.Start(DistillWorker(self, threads, null, 0), "Distill single process", "the distill worker mode"));
            var pytorch = new List<LineWorker>();
            if (withPyTorch)
            {
                var script = Path.Combine(AppContext.BaseDirectory, "bench", "bench_ddp.py");
                if (!File.Exists(script)) throw new FileNotFoundException($"benchmark script not found: {script}", script);
                for (int r = 0; r < Workers; r++)
                    pytorch.Add(Track(all, LineWorker.Start(PythonWorker(python, script, perWorker, r, ports[1]), $"PyTorch rank {r}",
                        "is python3-torch installed? .ci/bootstrap.sh --bench; or --python none for the Distill side alone")));
            }
            foreach (var w in all) w.WaitReady();
            Console.WriteLine(withPyTorch ? $"PyTorch side: {pytorch[0].Banner} (DistributedDataParallel, Gloo)" : "PyTorch side: left out (--python none)");

            // Everything loads at once: the ranks of a group meet in their rendezvous while loading.
            foreach (var (w, s) in distill.Zip(ranks).Concat(pytorch.Zip(ranks)).Append((alone, single))) w.Send($"load {s}");
            foreach (var w in all) w.Receive();
            Console.WriteLine(string.Format(CultureInfo.InvariantCulture, "{0} workers started and loaded ({1:F0} s since the start)", all.Count, clock.Elapsed.TotalSeconds));

            // The first step of every group, from the same weights on the same batches.
            var firstDistill = FirstStep("Distill", distill);
            var firstPyTorch = withPyTorch ? FirstStep("PyTorch", pytorch) : null;
            alone.Send("step_values");
            var firstAlone = Terms(alone, alone.Receive());
            Console.WriteLine($"first step, Distill 1x{threads}: {Format(firstAlone)}");
            if (firstPyTorch is not null) CheckParity(firstDistill, firstPyTorch);

            // Warm-up: the reducers re-bucket in gradient order at this second step.
            var groups = new List<(string Name, List<LineWorker> Workers, List<double> Times, List<double> Cpu)>
            {
                ($"Distill {Workers}x{perWorker}", distill, [], []),
            };
            if (withPyTorch) groups.Add(($"PyTorch {Workers}x{perWorker}", pytorch, [], []));
            groups.Add(($"Distill 1x{threads}", [alone], [], []));
            foreach (var g in groups) LineWorker.RequestAll(g.Workers, "step 1");

            for (int rep = 0; rep < reps; rep++)
            {
                var line = new List<string>();
                for (int k = 0; k < groups.Count; k++)
                {
                    var g = groups[(rep + k) % groups.Count];
                    Timing.Settle();
                    var replies = LineWorker.RequestAll(g.Workers, $"step {steps.ToString(inv)}");
                    var times = SlowestRank(g.Name, replies.Select(r => r.Split('|')[0]).ToArray(), steps);
                    g.Times.AddRange(times);
                    g.Cpu.AddRange(AllRanks(g.Name, replies.Select(r => Second(r, "step")).ToArray(), steps));
                    line.Add(string.Format(inv, "{0} {1:F0} ms", g.Name, Timing.Median(times) * 1e3));
                }
                Console.WriteLine($"  repetition {rep + 1}/{reps} (median step of each): {string.Join(", ", line)}; load {ModelBench.LoadAverage().Split(' ')[0]}");
            }

            // Gradient synchronisation and plain all-reduces, the two sides alternating over two rounds.
            var syncSides = new List<(List<LineWorker> Workers, List<double> Armed, List<double> Local, List<double> Raw)> { (distill, [], [], []) };
            if (withPyTorch) syncSides.Add((pytorch, [], [], []));
            for (int round = 0; round < 2; round++)
            {
                for (int k = 0; k < syncSides.Count; k++)
                {
                    var s = syncSides[(round + k) % syncSides.Count];
                    Timing.Settle();
                    var replies = LineWorker.RequestAll(s.Workers, $"sync {SyncReps}");
                    var armed = replies.Select(r => r.Split('|')[0]).ToArray();
                    var local = replies.Select(r => Second(r, "sync")).ToArray();
                    s.Armed.AddRange(SlowestRank("sync", armed, SyncReps));
                    s.Local.AddRange(SlowestRank("sync", local, SyncReps));
                    s.Raw.AddRange(SlowestRank("allreduce", LineWorker.RequestAll(s.Workers, $"allreduce {gradientElements} {SyncReps}"), SyncReps));
                }
            }

            Report(groups.Select(g => (g.Name, g.Times, g.Cpu)).ToList(), withPyTorch, syncSides.Select(s => (s.Armed, s.Local, s.Raw)).ToList(),
                batch, perWorker, threads, steps, megabytes, loadAtStart, clock);
            return 0;
        }
        finally
        {
            foreach (var w in all) w.Dispose();
        }
    }

    private static LineWorker Track(List<LineWorker> all, LineWorker w)
    {
        all.Add(w);
        return w;
    }

    private static string ChannelsLastNote(Distill.Training.Config.Schema.ExperimentOptions o, TopdownPoseEstimator student) =>
        Distill.Training.Models.ChannelsLast.AppliesTo(o.Model, student)
            ? "Distill's student channels-last as the trainer makes it (model.channels_last), PyTorch's in the default layout"
            : "both students in the default layout";

    /// <summary>Every rank's first step; throws when the ranks hold different weights after it (gradients not averaged).</summary>
    private static List<Dictionary<string, double>> FirstStep(string side, List<LineWorker> workers)
    {
        var replies = LineWorker.RequestAll(workers, "step_values");
        var terms = workers.Zip(replies, Terms).ToList();
        for (int r = 0; r < terms.Count; r++) Console.WriteLine($"first step, {side} rank {r}: {Format(terms[r])}");
        for (int r = 1; r < terms.Count; r++)
            if (terms[r]["weights"] != terms[0]["weights"])
                throw new InvalidOperationException($"{side}: rank {r} holds different weights from rank 0 after the first step "
                    + $"(sum |w| {Format(terms[r]["weights"])} against {Format(terms[0]["weights"])}): the gradients were not averaged");
        return terms;
    }

    /// <summary>Distill's and PyTorch's ranks must compute the same losses on the same batches from the same weights.</summary>
    private static void CheckParity(List<Dictionary<string, double>> distill, List<Dictionary<string, double>> pytorch)
    {
        var inv = CultureInfo.InvariantCulture;
        var failures = new List<string>();
        double worst = 0;
        for (int r = 0; r < distill.Count; r++)
        {
            var names = distill[r].Keys.Where(k => k != "weights").Order(StringComparer.Ordinal).ToList();
            if (!names.SequenceEqual(pytorch[r].Keys.Where(k => k != "weights").Order(StringComparer.Ordinal)))
                throw new InvalidOperationException($"rank {r}: loss terms differ: Distill has {string.Join(", ", names)}, PyTorch {string.Join(", ", pytorch[r].Keys)}");
            foreach (var name in names)
            {
                double rel = Relative(distill[r][name], pytorch[r][name]);
                worst = Math.Max(worst, rel);
                if (!(rel <= ParityLimit)) failures.Add($"rank {r} {name}: Distill {Format(distill[r][name])}, PyTorch {Format(pytorch[r][name])}");
            }
        }
        if (failures.Count > 0)
            throw new InvalidOperationException("the first data-parallel step's losses differ between Distill and PyTorch beyond "
                + $"{ParityLimit.ToString("E0", inv)} relative, so the timings would compare different computations:\n  " + string.Join("\n  ", failures));
        Console.WriteLine(string.Format(inv, "first step: Distill's and PyTorch's losses agree on every rank (max relative difference {0:E2}); "
            + "sum |w| after it differs by {1:E2} relative", worst, Relative(distill[0]["weights"], pytorch[0]["weights"])));
    }

    private static double Relative(double a, double b)
    {
        double rel = Math.Abs(a - b) / Math.Max(Math.Abs(b), 1e-12);
        return double.IsNaN(rel) ? double.PositiveInfinity : rel;
    }

    private static string Format(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    private static string Format(Dictionary<string, double> terms) => string.Join(' ', terms.Select(kv => $"{kv.Key}={Format(kv.Value)}"));

    private static Dictionary<string, double> Terms(LineWorker w, string reply)
    {
        var terms = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var part in reply.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = part.LastIndexOf('=');
            if (eq <= 0 || !double.TryParse(part[(eq + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var v))
                throw new InvalidOperationException($"{w.Name} replied '{reply}', not name=value loss terms");
            terms[part[..eq]] = v;
        }
        if (!terms.ContainsKey("loss_kpt") || !terms.ContainsKey("weights"))
            throw new InvalidOperationException($"{w.Name} replied '{reply}', without loss_kpt and weights");
        return terms;
    }

    /// <summary>Per entry, the slowest rank's seconds: the ranks of a group wait for each other in every collective.</summary>
    private static List<double> SlowestRank(string what, IReadOnlyList<string> replies, int count)
    {
        var parsed = replies.Select(r =>
        {
            var v = r.Split(' ', StringSplitOptions.RemoveEmptyEntries)
                .Select(x => double.TryParse(x, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : double.NaN).ToArray();
            if (v.Length != count || v.Any(d => !double.IsFinite(d) || d < 0))
                throw new InvalidOperationException($"'{what}' replied '{r}', not {count} times in seconds");
            return v;
        }).ToList();
        return Enumerable.Range(0, count).Select(i => parsed.Max(p => p[i])).ToList();
    }

    /// <summary>Per entry, the sum over the ranks (CPU seconds of the whole group).</summary>
    private static List<double> AllRanks(string what, IReadOnlyList<string> replies, int count)
    {
        var parsed = replies.Select(r => SlowestRank(what, [r], count)).ToList();
        return Enumerable.Range(0, count).Select(i => parsed.Sum(p => p[i])).ToList();
    }

    /// <summary>The list after the '|' of a reply of two lists.</summary>
    private static string Second(string reply, string what) =>
        reply.Split('|', 2) is [_, var second] ? second : throw new InvalidOperationException($"'{what}' replied '{reply}', not two lists");

    private static ProcessStartInfo DistillWorker(Func<ProcessStartInfo> self, int threads, int? rank, int port)
    {
        var psi = self();
        psi.ArgumentList.Add("--threads");
        psi.ArgumentList.Add(threads.ToString(CultureInfo.InvariantCulture));
        SetEnvironment(psi, threads, rank, port);
        return psi;
    }

    private static ProcessStartInfo PythonWorker(string python, string script, int threads, int rank, int port)
    {
        var psi = new ProcessStartInfo(python);
        foreach (var a in new[] { script, "--threads", threads.ToString(CultureInfo.InvariantCulture), "--timeout", TimeoutS.ToString(CultureInfo.InvariantCulture) })
            psi.ArgumentList.Add(a);
        SetEnvironment(psi, threads, rank, port);
        // Python's Gloo binding picks its interface from here; Distill's workers bind to 127.0.0.1 for a loopback master.
        psi.Environment["GLOO_SOCKET_IFNAME"] = "lo";
        return psi;
    }

    /// <summary>torchrun's environment for a rank on this machine, or none of it for a plain process.</summary>
    private static void SetEnvironment(ProcessStartInfo psi, int threads, int? rank, int port)
    {
        var env = psi.Environment;
        foreach (var name in new[] { "RANK", "LOCAL_RANK", "GROUP_RANK", "ROLE_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "GROUP_WORLD_SIZE",
                     "ROLE_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT", "TORCHELASTIC_USE_AGENT_STORE", "TORCHELASTIC_RESTART_COUNT", "GLOO_SOCKET_IFNAME" })
            env.Remove(name);
        env["OMP_NUM_THREADS"] = threads.ToString(CultureInfo.InvariantCulture);
        if (rank is not { } r) return;
        env["RANK"] = env["LOCAL_RANK"] = r.ToString(CultureInfo.InvariantCulture);
        env["WORLD_SIZE"] = env["LOCAL_WORLD_SIZE"] = Workers.ToString(CultureInfo.InvariantCulture);
        env["MASTER_ADDR"] = "127.0.0.1";
        env["MASTER_PORT"] = port.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>Distinct TCP ports free on the loopback now (held together while chosen, so they differ).</summary>
    private static int[] FreePorts(int n)
    {
        var listeners = Enumerable.Range(0, n).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
        try
        {
            foreach (var l in listeners) l.Start();
            return listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        }
        finally
        {
            foreach (var l in listeners) l.Stop();
        }
    }

    private static void Report(List<(string Name, List<double> Times, List<double> Cpu)> groups, bool withPyTorch, List<(List<double> Armed, List<double> Local, List<double> Raw)> sync,
        int batch, int perWorker, int threads, int steps, double megabytes, string loadAtStart, Stopwatch clock)
    {
        var inv = CultureInfo.InvariantCulture;
        int global = Workers * batch;
        var d2 = Sample.Of(groups[0].Times);
        var d1 = Sample.Of(groups[^1].Times);
        var p2 = withPyTorch ? Sample.Of(groups[1].Times) : Sample.None;
        string Cell(Sample s) => double.IsNaN(s.Median) ? "-" : string.Format(inv, "{0:F0} ms ({1:F1} img/s)", s.Median * 1e3, global / s.Median);
        string Pct(double f) => double.IsNaN(f) ? "-" : string.Format(inv, "{0:F0}%", f * 100);
        string Ms(double s) => double.IsNaN(s) ? "-" : string.Format(inv, "{0:F1} ms", s * 1e3);
        string Ratio(double theirs, double ours) => double.IsNaN(theirs) ? "-" : string.Format(inv, "{0:F2}x", theirs / ours);

        Console.WriteLine();
        Console.WriteLine("| measurement | Distill | PyTorch | ratio | goal | spread, Distill / PyTorch | entries |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        Console.WriteLine(string.Format(inv, "| data-parallel step, {0} workers x {1} thread(s), batch {2} per worker ({3} in all) | {4} | {5} | {6} | >= 1.0x | {7} / {8} | {9} |",
            Workers, perWorker, batch, global, Cell(d2), Cell(p2), Ratio(p2.Median, d2.Median), Pct(d2.Spread), Pct(p2.Spread), groups[0].Times.Count));
        Console.WriteLine(string.Format(inv, "| one process x {0} threads, batch {1} (Distill) | {2} | | | | {3} | {4} |",
            threads, global, Cell(d1), Pct(d1.Spread), groups[^1].Times.Count));
        Console.WriteLine(string.Format(inv, "| scaling: {0} workers x {1} against 1 process x {2}, same global batch {3} (Distill) | {4:F2}x | | | >= 0.9x | | |",
            Workers, perWorker, threads, global, d1.Median / d2.Median));
        string Cpu(List<double> c) => c.Count == 0 ? "-" : string.Format(inv, "{0:F2} s", Timing.Median(c));
        var pCpu = withPyTorch ? groups[1].Cpu : [];
        Console.WriteLine(string.Format(inv, "| CPU time per data-parallel step, both workers together | {0} | {1} | {2} | | | {3} |",
            Cpu(groups[0].Cpu), Cpu(pCpu), withPyTorch ? Ratio(Timing.Median(pCpu), Timing.Median(groups[0].Cpu)) : "-", groups[0].Cpu.Count));
        Console.WriteLine(string.Format(inv, "| CPU time per step, one process x {0} threads (Distill) | {1} | | | | | {2} |",
            threads, Cpu(groups[^1].Cpu), groups[^1].Cpu.Count));
        var (dArmed, dLocal, dRaw) = (Timing.Median(sync[0].Armed), Timing.Median(sync[0].Local), Timing.Median(sync[0].Raw));
        double pArmed = double.NaN, pLocal = double.NaN, pRaw = double.NaN;
        if (sync.Count > 1) (pArmed, pLocal, pRaw) = (Timing.Median(sync[1].Armed), Timing.Median(sync[1].Local), Timing.Median(sync[1].Raw));
        string SyncCell(double armed, double local) => double.IsNaN(armed) ? "-" : string.Format(inv, "{0} ({1} - {2})", Ms(armed - local), Ms(armed), Ms(local));
        Console.WriteLine(string.Format(inv, "| gradient sync of one step ({0:F1} MB through the reducer's buckets): reduced backward - local backward | {1} | {2} | {3} | | | {4} |",
            megabytes, SyncCell(dArmed, dLocal), SyncCell(pArmed, pLocal), Ratio(pArmed - pLocal, dArmed - dLocal), sync[0].Armed.Count));
        Console.WriteLine(string.Format(inv, "| plain Gloo all-reduce of the same {0:F1} MB (one float32 tensor, SUM) | {1} | {2} | {3} | | | {4} |",
            megabytes, Ms(dRaw), Ms(pRaw), Ratio(pRaw, dRaw), sync[0].Raw.Count));
        Console.WriteLine();
        Console.WriteLine(string.Format(inv, "Distill's reducer takes {0:F2}x the time of a plain all-reduce of its bytes{1}.", (dArmed - dLocal) / dRaw,
            double.IsNaN(pRaw) ? "" : string.Format(inv, " (PyTorch's {0:F2}x)", (pArmed - pLocal) / pRaw)));
        Console.WriteLine($"A step: forward, SimCC loss (KLDiscretLoss), backward with the gradients averaged over the workers, gradient clipping, AdamW; "
            + $"times are medians over {steps} steps per repetition, each step the slowest rank's; img/s = {global} / step time; "
            + "ratio = PyTorch time / Distill time (above 1: Distill faster); spread = (slowest - fastest) / median. "
            + "Scaling = one process's step time / the workers' step time. CPU time: median CPU seconds of all threads of the group's processes per step "
            + "(less sensitive to other work on the machine than wall time; OpenMP's spin-waiting counts in it). Gradient sync: backward of the sum of every entry of tensors shaped like "
            + "the student's parameters (every gradient ready at once), through the reducer (Distill's c10d Reducer, PyTorch's DistributedDataParallel) "
            + "against the same backward without synchronisation (no_sync); median of both, after a barrier each.");
        Console.WriteLine($"Load average at start {loadAtStart}, at end {ModelBench.LoadAverage()}; total {clock.Elapsed.TotalMinutes:F1} min.");
    }
}
