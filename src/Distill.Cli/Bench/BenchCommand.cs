using System.CommandLine;
using System.Diagnostics;
using Distill.Torch;
using Distill.Torch.Nn;
using Distill.Torch.Optim;
using Distill.Training.Config;

namespace Distill.Cli.Bench;

/// <summary>
/// `distill bench`: times the same network and step in Distill and in PyTorch (Debian's python3-torch, the same
/// libtorch build) on this machine in one run, interleaving repetitions and reporting medians.
/// </summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var reps = new Option<int>("--reps") { Description = "Interleaved repetitions per side (medians are reported); the models suite takes fewer for slow measurements; the kd suite times one step per repetition.", DefaultValueFactory = _ => 5 };
        var steps = new Option<int>("--steps") { Description = "Timed training steps per repetition (foundation suite).", DefaultValueFactory = _ => 3 };
        var threads = new Option<int>("--threads") { Description = "Intra-op threads on both sides.", DefaultValueFactory = _ => 2 };
        var batch = new Option<int>("--batch") { Description = "Batch size of training steps (the kd suite's too) and of the models suite's throughput lines.", DefaultValueFactory = _ => 32 };
        var python = new Option<string>("--python") { Description = "Python with PyTorch for the reference side.", DefaultValueFactory = _ => "/usr/bin/python3" };
        var suite = new Option<string>("--suite")
        {
            Description = "foundation: a small fixed network (training step, batch-1 latency); models: RTMPose-t/m and ViTPose-S "
                + "(latency, throughput, training step, parity); kd: the distillation training step of "
                + $"{KdBench.ExperimentConfig} (two RTMPose-m teachers, RTMPose-t student; loss parity, step time, img/s, peak RSS, "
                + "an end-to-end line through the trainer's data loader; --reps single steps per side, alternating, then up to 3 more "
                + "with the student in the other layout and up to 3 with plain teachers; some 2-3 minutes at batch 32 on 2 idle cores, several times that on a busy machine); "
                + "all: every suite.",
            DefaultValueFactory = _ => "foundation",
        };
        suite.AcceptOnlyFromAmong("foundation", "models", "kd", "all");
        var models = new Option<string>("--models")
        {
            Description = $"Comma-separated models for the models suite ({string.Join(", ", BenchModels.Names)}).",
            DefaultValueFactory = _ => string.Join(",", BenchModels.Names),
        };
        var cmd = new Command("bench", "Benchmark Distill against PyTorch on this machine (same graphs, interleaved repetitions, medians).")
        {
            suite, reps, steps, threads, batch, python, models,
        };
        cmd.SetAction(r =>
        {
            var s = r.GetValue(suite)!;
            int rc = 0;
            if (s is "foundation" or "all")
                rc = RunFoundation(r.GetValue(reps), r.GetValue(steps), r.GetValue(threads), r.GetValue(batch), r.GetValue(python)!);
            if (rc == 0 && s is "models" or "all")
            {
                if (s == "all") Console.WriteLine();
                var names = r.GetValue(models)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                rc = ModelBench.Run(names, r.GetValue(reps), r.GetValue(threads), r.GetValue(batch), r.GetValue(python)!);
            }
            if (rc == 0 && s is "kd" or "all")
            {
                if (s == "all") Console.WriteLine();
                rc = KdBench.Run(r.GetValue(reps), r.GetValue(threads), r.GetValue(batch), r.GetValue(python)!);
            }
            return rc;
        });
        return cmd;
    }

    private static int RunFoundation(int reps, int steps, int threads, int batch, string python)
    {
        const int H = 256, W = 192, latencyBlocks = 6, blockRuns = 5;
        torch.NumThreads = threads;
        torch.ManualSeed(0);
        Console.WriteLine($"distill bench: libtorch {torch.Version}, {threads} threads, batch {batch}, 3x{H}x{W}, {reps} interleaved repetitions");

        using var py = PythonSide.Start(python, Path.Combine(AppContext.BaseDirectory, "bench", "bench_torch.py"),
            ["--threads", threads.ToString(), "--batch", batch.ToString(), "--height", H.ToString(), "--width", W.ToString()]);
        Console.WriteLine($"PyTorch side: {py.Banner}");
        using var net = new BenchNet();
        using var opt = new AdamW(net.Parameters(), lr: 1e-3, weightDecay: 0.05);
        using var x = torch.Randn([batch, 3, H, W]).DetachFromDisposeScope();
        using var x1 = torch.Randn([1, 3, H, W]).DetachFromDisposeScope();

        void TrainStep()
        {
            using var scope = torch.NewDisposeScope();
            net.Train();
            opt.ZeroGrad();
            var y = net.Forward(x);
            var loss = y.Square().Mean();
            loss.Backward();
            opt.Step();
        }

        void Infer(bool inferenceMode)
        {
            using var scope = torch.NewDisposeScope();
            net.Eval();
            if (inferenceMode)
            {
                using var _ = Autograd.InferenceMode();
                net.Forward(x1);
            }
            else
            {
                using var _ = Autograd.NoGrad();
                net.Forward(x1);
            }
        }

        for (int i = 0; i < 2; i++) { TrainStep(); Infer(false); Infer(true); }

        // Latency samples alternate between the sides in short blocks, so that drift in the machine's speed (other
        // tenants, clock changes) lands on both sides alike; training steps alternate per repetition. Each hand-over
        // waits until the other process's OpenMP workers have stopped spinning, or they would steal the cores.
        var csTrain = new List<double>();
        var pyTrain = new List<double>();
        var csInfer = new List<double>();
        var csInferIm = new List<double>();
        var pyInfer = new List<double>();
        for (int r = 0; r < reps; r++)
        {
            Settle();
            csTrain.Add(Median(steps, TrainStep));
            Settle();
            pyTrain.Add(py.Time($"train {steps}"));
            for (int b = 0; b < latencyBlocks; b++)
            {
                Settle();
                csInfer.Add(Median(blockRuns, () => Infer(false)));
                Settle();
                pyInfer.Add(py.Time($"infer {blockRuns}"));
                Settle();
                csInferIm.Add(Median(blockRuns, () => Infer(true)));
            }
        }

        // Per-call overhead: a one-element add, where the kernel costs almost nothing and the binding is all there is.
        using var a1 = torch.Ones([1]).DetachFromDisposeScope();
        using var b1 = torch.Ones([1]).DetachFromDisposeScope();
        double OneOp()
        {
            long t0 = Stopwatch.GetTimestamp();
            for (int i = 0; i < 1000; i++) a1.Add(b1).Dispose();
            return Stopwatch.GetElapsedTime(t0).TotalSeconds / 1000;
        }
        OneOp();
        var csOp = Enumerable.Range(0, 20).Select(_ => OneOp()).ToList();
        double po = py.Time("op 20"), co = Median(csOp);

        double ct = Median(csTrain), pt = Median(pyTrain), ci = Median(csInfer), pi = Median(pyInfer), cim = Median(csInferIm);
        Console.WriteLine();
        Console.WriteLine("| measurement | Distill (C#) | PyTorch | ratio |");
        Console.WriteLine("|---|---|---|---|");
        Console.WriteLine($"| training step, batch {batch} (fwd+bwd+AdamW) | {ct * 1e3:F1} ms ({batch / ct:F1} img/s) | {pt * 1e3:F1} ms ({batch / pt:F1} img/s) | throughput {pt / ct:F3}x |");
        Console.WriteLine($"| batch-1 forward latency, no_grad | {ci * 1e3:F2} ms | {pi * 1e3:F2} ms | latency {ci / pi:F3}x |");
        Console.WriteLine($"| batch-1 forward latency, inference mode (Distill only) | {cim * 1e3:F2} ms | {pi * 1e3:F2} ms (no_grad) | latency {cim / pi:F3}x |");
        Console.WriteLine($"| per-call overhead (one-element add) | {co * 1e6:F2} us | {po * 1e6:F2} us | {co / po:F3}x |");
        Console.WriteLine($"Distill side: {GC.CollectionCount(0)} gen-0 / {GC.CollectionCount(2)} gen-2 GCs, {GC.GetTotalPauseDuration().TotalMilliseconds:F0} ms GC pause in the whole run.");
        return 0;
    }

    /// <summary>Lets idle OpenMP workers of the side that just ran go to sleep before the other side is timed.</summary>
    internal static void Settle() => Thread.Sleep(100);

    internal static double Median(int n, Action a)
    {
        var t = new List<double>(n);
        for (int i = 0; i < n; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            a();
            t.Add(Stopwatch.GetElapsedTime(t0).TotalSeconds);
        }
        return Median(t);
    }

    internal static double Median(List<double> v)
    {
        var s = v.OrderBy(x => x).ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }
}
