using System.CommandLine;
using System.Diagnostics;
using Distill.Bench;

namespace Distill.Cli.Commands;

/// <summary>
/// `distill bench`: times the same network and step in Distill and in PyTorch (Debian's python3-torch, the same
/// libtorch build) on this machine in one run, interleaving repetitions and reporting medians.
/// </summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var reps = new Option<int>("--reps") { Description = "Interleaved repetitions per side (medians are reported); the models suite takes fewer for slow measurements; the kd suite times one step per repetition.", DefaultValueFactory = _ => 5 };
        var steps = new Option<int>("--steps") { Description = "Timed training steps per repetition (foundation and ddp suites).", DefaultValueFactory = _ => 3 };
        var threads = new Option<int>("--threads") { Description = "Intra-op threads on both sides (the ddp suite: of its single process; each of its two workers gets half).", DefaultValueFactory = _ => 2 };
        var batch = new Option<int>("--batch") { Description = "Batch size of training steps (the kd suite's too; the ddp suite's per worker) and of the models suite's throughput lines.", DefaultValueFactory = _ => 32 };
        var python = new Option<string>("--python") { Description = "Python with PyTorch for the reference side (the ddp suite also takes none: Distill alone).", DefaultValueFactory = _ => "/usr/bin/python3" };
        var suite = new Option<string>("--suite")
        {
            Description = "foundation: a small fixed network (training step, batch-1 latency); models: RTMPose-t/m and ViTPose-S "
                + "(latency, throughput, training step, parity); kd: the distillation training step of "
                + $"{KdBench.ExperimentConfig} (two RTMPose-m teachers, RTMPose-t student; loss parity, step time, img/s, peak RSS, "
                + "an end-to-end line through the trainer's data loader; --reps single steps per side, alternating, then up to 3 more "
                + "with the student in the other layout, with teachers in ONNX Runtime (idle threads sleeping: --reps; spinning: up to 3) and up to 3 with plain teachers; "
                + "some 3-5 minutes at batch 32 on 2 idle cores, several times that on a busy machine); "
                + "ddp: data-parallel training of that config's student step on Gloo: Distill 2 workers against PyTorch DistributedDataParallel 2 workers "
                + "(--threads split between them, --batch per worker), Distill's scaling against one process with all --threads, and one step's "
                + "gradient synchronisation against a plain all-reduce of its bytes (--reps turns of --steps steps per group); "
                + $"predict: the two paths of `distill predict` on {PredictBench.ModelConfigPath}, libtorch and ONNX Runtime (batch-1 latency, img/s at --batch); "
                + $"bottomup: a CSPNeXt-t CIF/CAF model on synthetic scenes (training step against a PyTorch twin, decoder ms per image; batch min(--batch, 16)); "
                + "all: every suite.",
            DefaultValueFactory = _ => "foundation",
        };
        suite.AcceptOnlyFromAmong("foundation", "models", "kd", "ddp", "predict", "bottomup", "all");
        var models = new Option<string>("--models")
        {
            Description = $"Comma-separated models for the models suite ({string.Join(", ", BenchModels.Names)}).",
            DefaultValueFactory = _ => string.Join(",", BenchModels.Names),
        };
        // The ddp suite starts this program again as its Distill workers, which talk to it over their standard input.
        var ddpWorker = new Option<bool>("--ddp-worker") { Hidden = true };
        var cmd = new Command("bench", "Benchmark Distill against PyTorch on this machine (same graphs, interleaved repetitions, medians).")
        {
            suite, reps, steps, threads, batch, python, models, ddpWorker,
        };
        cmd.SetAction(r =>
        {
            if (r.GetValue(ddpWorker)) return DdpWorker.Run(r.GetValue(threads), Console.In, Console.Out);
            var s = r.GetValue(suite)!;
            int rc = 0;
            if (s is "foundation" or "all")
                rc = FoundationBench.Run(r.GetValue(reps), r.GetValue(steps), r.GetValue(threads), r.GetValue(batch), r.GetValue(python)!);
            if (rc == 0 && s is "models" or "all")
            {
                if (s == "all") Console.WriteLine();
                var names = r.GetValue(models)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                rc = ModelBench.Run(names, r.GetValue(reps), r.GetValue(threads), r.GetValue(batch), r.GetValue(python)!);
            }
            if (rc == 0 && s is "kd" or "all")
            {
                if (s == "all") Console.WriteLine();
                rc = KdBench.Run(RepoRoot.Find(), r.GetValue(reps), r.GetValue(threads), r.GetValue(batch), r.GetValue(python)!);
            }
            if (rc == 0 && s is "ddp" or "all")
            {
                if (s == "all") Console.WriteLine();
                rc = DdpBench.Run(RepoRoot.Find(), r.GetValue(reps), r.GetValue(steps), r.GetValue(threads), r.GetValue(batch), r.GetValue(python)!, DdpWorkerStart);
            }
            if (rc == 0 && s is "predict" or "all")
            {
                if (s == "all") Console.WriteLine();
                rc = PredictBench.Run(RepoRoot.Find(), r.GetValue(reps), r.GetValue(threads), r.GetValue(batch));
            }
            if (rc == 0 && s is "bottomup" or "all")
            {
                if (s == "all") Console.WriteLine();
                rc = BottomupBench.Run(r.GetValue(reps), r.GetValue(threads), Math.Min(r.GetValue(batch), 16), r.GetValue(python)!);
            }
            return rc;
        });
        return cmd;
    }

    /// <summary>This program in its ddp worker mode (under `dotnet distill.dll` the host is dotnet, which needs the assembly too).</summary>
    private static ProcessStartInfo DdpWorkerStart()
    {
        var host = Environment.ProcessPath ?? throw new InvalidOperationException("cannot find this program's executable to start the ddp workers");
        var psi = new ProcessStartInfo(host);
        if (Path.GetFileNameWithoutExtension(host) == "dotnet") psi.ArgumentList.Add(typeof(BenchCommand).Assembly.Location);
        psi.ArgumentList.Add("bench");
        psi.ArgumentList.Add("--ddp-worker");
        return psi;
    }
}
