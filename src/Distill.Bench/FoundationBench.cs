using System.Diagnostics;
using Distill.Torch;
using Distill.Torch.Nn;
using Distill.Torch.Optim;

namespace Distill.Bench;

/// <summary>
/// `distill bench --suite foundation`: a small fixed network (<see cref="BenchNet"/>) in Distill and in PyTorch
/// (bench_torch.py): training step, batch-1 latency and per-call overhead, interleaved repetitions, medians.
/// </summary>
public static class FoundationBench
{
    public static int Run(int reps, int steps, int threads, int batch, string python)
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
            Timing.Settle();
            csTrain.Add(Timing.Median(steps, TrainStep));
            Timing.Settle();
            pyTrain.Add(py.Time($"train {steps}"));
            for (int b = 0; b < latencyBlocks; b++)
            {
                Timing.Settle();
                csInfer.Add(Timing.Median(blockRuns, () => Infer(false)));
                Timing.Settle();
                pyInfer.Add(py.Time($"infer {blockRuns}"));
                Timing.Settle();
                csInferIm.Add(Timing.Median(blockRuns, () => Infer(true)));
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
        double po = py.Time("op 20"), co = Timing.Median(csOp);

        double ct = Timing.Median(csTrain), pt = Timing.Median(pyTrain), ci = Timing.Median(csInfer), pi = Timing.Median(pyInfer), cim = Timing.Median(csInferIm);
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
}
