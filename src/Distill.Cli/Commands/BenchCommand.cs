using System.CommandLine;
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
                + "with the student in the other layout, with teachers in ONNX Runtime (idle threads sleeping: --reps; spinning: up to 3) and up to 3 with plain teachers; "
                + "some 3-5 minutes at batch 32 on 2 idle cores, several times that on a busy machine); "
                + $"predict: the two paths of `distill predict` on {PredictBench.ModelConfigPath}, libtorch and ONNX Runtime (batch-1 latency, img/s at --batch); "
                + $"bottomup: a CSPNeXt-t CIF/CAF model on synthetic scenes (training step against a PyTorch twin, decoder ms per image; batch min(--batch, 16)); "
                + "all: every suite.",
            DefaultValueFactory = _ => "foundation",
        };
        suite.AcceptOnlyFromAmong("foundation", "models", "kd", "predict", "bottomup", "all");
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
}
