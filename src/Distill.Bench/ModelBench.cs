using System.Diagnostics;
using System.Globalization;
using Distill.Pose.Models;
using Distill.Torch;
using Distill.Torch.Nn;
using Distill.Torch.Optim;
using Distill.Torch.Serialization;

namespace Distill.Bench;

/// <summary>
/// `distill bench --suite models`: RTMPose-t, RTMPose-m and ViTPose-S in Distill and in PyTorch (pose_models.py, the
/// same graphs), float32, 3x256x192, default contiguous layout on both sides. Per model: batch-1 forward latency,
/// batch-N forward throughput, one training step at batch N, and optimisations only Distill applies here (inference
/// mode, BatchNorm folded into convs, channels-last). Both sides warm up first, then alternate entry by entry (the
/// order flips every repetition so drift hits both alike); each entry is the median of a few runs, each line the
/// median of the entries. Slow measurements get fewer repetitions so the whole suite stays within minutes.
/// </summary>
public static class ModelBench
{
    /// <summary>Each variant and the PyTorch side run at least this long before timing starts.</summary>
    private const double WarmupSeconds = 1.5;
    private const int MinReps = 3, MinTrainingReps = 2;
    /// <summary>Runs per entry are chosen so an entry lasts about this long (short runs are noisy alone).</summary>
    private const double EntrySeconds = 0.5;
    /// <summary>Time a measurement's repetitions may take (all variants, both sides) before reps drop toward MinReps.</summary>
    private const double InferenceBudgetSeconds = 40, TrainingBudgetSeconds = 60;

    public static int Run(string[] names, int maxReps, int threads, int batch, string python)
    {
        if (maxReps < 1) throw new ArgumentException("--reps must be at least 1");
        if (batch < 2) throw new ArgumentException("--batch must be at least 2 for the throughput and training lines");
        foreach (var n in names) BenchModels.Info(n);
        const int H = BenchModels.Height, W = BenchModels.Width;
        var clock = Stopwatch.StartNew();
        torch.NumThreads = threads;
        var loadAtStart = LoadAverage();
        Console.WriteLine($"distill bench --suite models: libtorch {torch.Version}, {threads} threads, float32 3x{H}x{W}, "
            + $"batch 1 and {batch}, up to {maxReps} interleaved repetitions; load average at start {loadAtStart}");
        using var py = PythonSide.Start(python, Path.Combine(AppContext.BaseDirectory, "bench", "bench_models.py"),
            ["--threads", threads.ToString(CultureInfo.InvariantCulture), "--height", H.ToString(CultureInfo.InvariantCulture),
             "--width", W.ToString(CultureInfo.InvariantCulture)]);
        Console.WriteLine($"PyTorch side: {py.Banner}");

        var rows = new List<BenchRow>();
        var parity = new List<string>();
        foreach (var name in names)
        {
            var (display, expected) = BenchModels.Info(name);
            torch.ManualSeed(0);
            using var model = BenchModels.Build(name);
            CheckTwins(py, name, model, expected);
            Console.WriteLine($"{display}: {expected:N0} parameters on both sides");
            // RTMPose-m is RTMPose-t's code at other widths and depths; the two others cover every layer type.
            if (name is "rtmpose-t" or "vitpose-s") parity.Add(Parity(py, name, display));
            rows.AddRange(Inference(py, name, display, model, 1, maxReps));
            rows.AddRange(Inference(py, name, display, model, batch, maxReps));
            rows.Add(Training(py, display, model, batch, maxReps));
        }

        Console.WriteLine();
        Console.WriteLine(BenchRow.Header);
        foreach (var r in rows) Console.WriteLine(r);
        Console.WriteLine();
        foreach (var p in parity) Console.WriteLine(p);
        Console.WriteLine("Times are medians of wall-clock time; ratio = PyTorch time / Distill time (above 1: Distill faster). "
            + "Lines marked (Distill only) are set against PyTorch's plain eval + no_grad line in parentheses; PyTorch users "
            + "can fold BN or go channels-last by hand too.");
        Console.WriteLine("ratio of best entries: the same for each side's fastest entry (the least disturbed by other work). "
            + "spread: (slowest - fastest entry) / median, Distill / PyTorch; a ratio within the spread is within the noise.");
        Console.WriteLine($"reps x runs: entries per side x runs per entry; slow measurements get fewer repetitions to keep the suite "
            + $"short (at least {Math.Min(MinReps, maxReps)}, {Math.Min(MinTrainingReps, maxReps)} for training steps).");
        Console.WriteLine($"Load average at start {loadAtStart}, at end {LoadAverage()}; total {clock.Elapsed.TotalMinutes:F1} min.");
        return 0;
    }

    /// <summary>Builds the PyTorch twin and checks both sides agree on parameter and state-dict entry counts.</summary>
    private static void CheckTwins(PythonSide py, string name, TopdownPoseEstimator model, long expected)
    {
        long ours = model.NumParameters();
        if (ours != expected)
            throw new InvalidOperationException($"Distill's {name} has {ours:N0} parameters, expected {expected:N0}");
        var reply = py.Request($"build {name}").Split(' ');
        long theirs = long.Parse(reply[1], CultureInfo.InvariantCulture);
        int keys = int.Parse(reply[2], CultureInfo.InvariantCulture);
        if (theirs != expected)
            throw new InvalidOperationException($"pose_models.py's {name} has {theirs:N0} parameters, expected {expected:N0}");
        if (keys != model.StateDict().Count)
            throw new InvalidOperationException($"pose_models.py's {name} has {keys} state-dict entries, Distill's {model.StateDict().Count}");
    }

    private static List<BenchRow> Inference(PythonSide py, string name, string display, TopdownPoseEstimator model,
        int batch, int maxReps)
    {
        using var x = torch.Randn([batch, 3, BenchModels.Height, BenchModels.Width]).DetachFromDisposeScope();
        // The convolutional models gain from folding BN and from channels-last (measured: up to ~1.4x at batch 32).
        // ViTPose-S has no foldable BN and convs only at its ends, where channels-last measured no gain, so both are
        // left out for it.
        bool convolutional = BenchModels.HasFoldableBatchNorm(model);
        using var folded = convolutional ? FoldedCopy(name, model) : null;
        using var channelsLast = convolutional ? FoldedCopy(name, model) : null;
        channelsLast?.ToChannelsLast();

        var variants = new List<(string Label, bool DistillOnly, Action Run)>
        {
            ("eval, no_grad", false, () => Forward(model, x, inferenceMode: false)),
            ("eval, inference mode", true, () => Forward(model, x, inferenceMode: true)),
        };
        if (folded is not null) variants.Add(("inference mode, BN folded", true, () => Forward(folded, x, inferenceMode: true)));
        if (channelsLast is not null)
        {
            variants.Add(("inference mode, BN folded, channels-last", true, () =>
            {
                // The layout change of the input is part of the timed work.
                using var xl = x.Contiguous(MemoryFormat.ChannelsLast);
                Forward(channelsLast, xl, inferenceMode: true);
            }));
        }

        string what = batch == 1 ? "forward latency, batch 1" : $"forward throughput, batch {batch}";
        var (distill, pytorch, reps, runs) = Measure($"{display} {what}", variants.Select(v => v.Run).ToList(), py,
            $"forward {batch}", InferenceBudgetSeconds, MinReps, maxReps);
        return variants.Select((v, i) => new BenchRow(display, $"{what}, {v.Label}", batch, distill[i], pytorch, v.DistillOnly, reps, runs))
            .ToList();
    }

    private static BenchRow Training(PythonSide py, string display, TopdownPoseEstimator model, int batch, int maxReps)
    {
        using var x = torch.Randn([batch, 3, BenchModels.Height, BenchModels.Width]).DetachFromDisposeScope();
        using var opt = new AdamW(model.Parameters(), lr: 1e-3, weightDecay: 0.05);
        var names = model.Head.OutputNames;
        void Step()
        {
            using var scope = torch.NewDisposeScope();
            model.Train();
            opt.ZeroGrad();
            var outs = model.Forward(x);
            var loss = outs[names[0]].Square().Mean();
            for (int i = 1; i < names.Length; i++) loss = loss + outs[names[i]].Square().Mean();
            loss.Backward();
            opt.Step();
        }
        string what = $"training step, batch {batch} (forward, mean-square loss, backward, AdamW)";
        try
        {
            var (distill, pytorch, reps, runs) = Measure($"{display} {what}", [Step], py, $"train {batch}", TrainingBudgetSeconds,
                MinTrainingReps, maxReps);
            return new BenchRow(display, what, batch, distill[0], pytorch, false, reps, runs);
        }
        catch (TorchException e)
        {
            // A model that cannot train is a finding to report, not a reason to lose the other lines.
            Console.WriteLine($"  {display} training step failed in Distill: {e.Message}");
            return new BenchRow(display, what, batch, Sample.None, Sample.None, false, 0, 0) { Failure = FirstSentence(e.Message) };
        }
        finally
        {
            model.Eval();
        }
    }

    /// <summary>
    /// Warms every variant and the PyTorch side up, sizes the entries from the warm timings, then alternates.
    /// Returns each Distill variant's sample, PyTorch's, and the repetitions and runs per entry used.
    /// </summary>
    private static (Sample[] Distill, Sample PyTorch, int Reps, int Runs) Measure(string what, IReadOnlyList<Action> distill,
        PythonSide py, string pyCommand, double budgetSeconds, int minReps, int maxReps)
    {
        int n = distill.Count;
        // Warm-up pays the one-time costs (allocations, kernel selection, optimizer state) and, on the Distill side,
        // lets .NET's tiered JIT recompile the hot managed paths: that happens on a background thread some 100 ms after
        // the first calls, and would otherwise compete with the measured runs for the cores.
        var warm = new double[n + 1];
        for (int i = 0; i < n; i++) warm[i] = WarmUp(() => Timing.Median(1, distill[i]));
        warm[n] = WarmUp(() => py.Time($"{pyCommand} 1"));
        // One slow outlier (a busy moment on a shared machine) should not set the run count alone: use the median.
        double typical = Timing.Median(warm.ToList());
        int runs = Math.Clamp((int)Math.Round(EntrySeconds / typical), 1, 20);
        double perRep = warm.Sum() * runs;
        int reps = Math.Clamp((int)(budgetSeconds / perRep), Math.Min(minReps, maxReps), maxReps);
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine($"  {what}: {reps} x {runs} (warm run ms: Distill "
            + string.Join(" / ", warm.Take(n).Select(t => (t * 1e3).ToString("F0", inv))) + $", PyTorch {(warm[n] * 1e3).ToString("F0", inv)})");

        var times = Enumerable.Range(0, n + 1).Select(_ => new List<double>()).ToArray();
        for (int r = 0; r < reps; r++)
        {
            var order = Enumerable.Range(0, n + 1);
            if (r % 2 == 1) order = order.Reverse();
            foreach (var i in order)
                times[i].Add(i == n ? py.Time($"{pyCommand} {runs}") : Timing.Median(runs, distill[i]));
        }
        return (times.Take(n).Select(Sample.Of).ToArray(), Sample.Of(times[n]), reps, runs);
    }

    /// <summary>Runs until <see cref="WarmupSeconds"/> have passed (at least once); returns the last run's seconds.</summary>
    private static double WarmUp(Func<double> run)
    {
        double spent = 0, last;
        do
        {
            last = run();
            spent += last;
        }
        while (spent < WarmupSeconds);
        return last;
    }

    private static void Forward(TopdownPoseEstimator model, Tensor x, bool inferenceMode)
    {
        using var scope = torch.NewDisposeScope();
        model.Eval();
        if (inferenceMode)
        {
            using var _ = Autograd.InferenceMode();
            model.Forward(x);
        }
        else
        {
            using var _ = Autograd.NoGrad();
            model.Forward(x);
        }
    }

    /// <summary>A new model with <paramref name="source"/>'s weights and BatchNorm statistics, BN folded into the convs.</summary>
    private static TopdownPoseEstimator FoldedCopy(string name, TopdownPoseEstimator source)
    {
        var copy = BenchModels.Build(name);
        copy.LoadStateDict(source.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value));
        copy.Eval();
        copy.FoldBatchNorm();
        return copy;
    }

    /// <summary>
    /// Runs one model with identical weights on both sides (exported with SafeTensors.Save, parsed by hand in Python)
    /// and reports the largest absolute output difference. BatchNorm statistics and affines are randomised first so the
    /// check exercises them; BN-folded and channels-last copies of convolutional models are compared against the same
    /// PyTorch outputs.
    /// </summary>
    private static string Parity(PythonSide py, string name, string display)
    {
        var dir = Directory.CreateTempSubdirectory("distill-bench-");
        try
        {
            if (dir.FullName.Any(char.IsWhiteSpace))
                throw new InvalidOperationException($"temporary folder '{dir.FullName}' contains whitespace");
            using var scope = torch.NewDisposeScope();
            torch.ManualSeed(1);
            using var model = BenchModels.Build(name);
            RandomizeBatchNorm(model);
            model.Eval();
            var x = torch.Randn([2, 3, BenchModels.Height, BenchModels.Width]);
            var io = new List<KeyValuePair<string, Tensor>> { new("input", x) };
            double scale = 0;
            using (Autograd.NoGrad())
            {
                var outs = model.Forward(x);
                foreach (var n in model.Head.OutputNames)
                {
                    io.Add(new(n, outs[n]));
                    scale = Math.Max(scale, outs[n].Abs().Max().ItemDouble());
                }
            }
            if (BenchModels.HasFoldableBatchNorm(model))
            {
                using var folded = FoldedCopy(name, model);
                using var channelsLast = FoldedCopy(name, model);
                channelsLast.ToChannelsLast();
                using (Autograd.InferenceMode())
                {
                    var f = folded.Forward(x);
                    var c = channelsLast.Forward(x.Contiguous(MemoryFormat.ChannelsLast));
                    foreach (var n in model.Head.OutputNames)
                    {
                        io.Add(new($"bn_folded/{n}", f[n]));
                        io.Add(new($"bn_folded_channels_last/{n}", c[n]));
                    }
                }
            }
            var weights = Path.Combine(dir.FullName, "weights.safetensors");
            var ioPath = Path.Combine(dir.FullName, "io.safetensors");
            SafeTensors.Save(weights, model.StateDict());
            SafeTensors.Save(ioPath, io);
            var reply = py.Request($"parity {weights} {ioPath}");
            return $"parity {display} (identical weights, batch 2, eval; Distill output vs PyTorch output, max |difference|): "
                + $"{reply.Replace(" ", ", ")} (largest |output| {scale:G3})";
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    internal static void RandomizeBatchNorm(Module model)
    {
        using var _ = Autograd.NoGrad();
        foreach (var (_, m) in model.NamedModules())
        {
            if (m is not BatchNorm2d bn) continue;
            bn.RunningMean.Uniform_(-0.2, 0.2);
            bn.RunningVar.Uniform_(0.5, 1.5);
            bn.Weight.Uniform_(0.5, 1.5);
            bn.Bias.Uniform_(-0.2, 0.2);
        }
    }

    private static string FirstSentence(string message)
    {
        int dot = message.IndexOf(". ", StringComparison.Ordinal);
        return (dot > 0 ? message[..dot] : message).ReplaceLineEndings(" ");
    }

    internal static string LoadAverage()
    {
        try
        {
            var parts = File.ReadAllText("/proc/loadavg").Split(' ');
            return $"{parts[0]} {parts[1]} {parts[2]} (1/5/15 min, {Environment.ProcessorCount} cores)";
        }
        catch (IOException)
        {
            return "unknown";
        }
        catch (UnauthorizedAccessException)
        {
            return "unknown";
        }
    }
}
