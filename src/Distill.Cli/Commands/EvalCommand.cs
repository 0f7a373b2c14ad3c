using Distill.Pose.Models.Checkpoints;
using System.CommandLine;
using Distill.Torch;
using Distill.Training.Checkpoints;
using Distill.Training.Config;
using Distill.Training.Evaluation;
using Distill.Training.Models;
using Distill.Training.Engine;
using Distill.Pose.Models;

namespace Distill.Cli.Commands;

internal static class EvalCommand
{
    public static Command Create()
    {
        var config = CommonOptions.Config();
        var set = CommonOptions.Set();
        var checkpoint = CommonOptions.Checkpoint(required: true);
        var noFlip = new Option<bool>("--no-flip-test")
        {
            Description = "Evaluate without the flip test (otherwise evaluation.flip_test, falling back to model.test_cfg.flip_test, decides).",
        };
        var cmd = new Command("eval", "Evaluate a checkpoint on every validation split of an experiment.") { config, set, checkpoint, noFlip };
        cmd.SetAction(r =>
        {
            var metrics = Run(r.GetValue(config)!, r.GetValue(set) ?? [], r.GetValue(checkpoint)!, r.GetValue(noFlip) ? false : null);
            Console.WriteLine("| metric | value |");
            Console.WriteLine("|---|---|");
            foreach (var (k, v) in metrics.OrderBy(kv => kv.Key, StringComparer.Ordinal)) Console.WriteLine($"| {k} | {v:F4} |");
            return 0;
        });
        return cmd;
    }

    public static Dictionary<string, double> Run(string configPath, IReadOnlyList<string> overrides, string checkpoint, bool? flip = null)
    {
        var o = ExperimentConfig.Load(configPath, overrides);
        // The same rule as the trainer's validation, so eval reproduces the numbers logged during training.
        bool flipTest = flip ?? o.Evaluation.FlipTest ?? o.Model.TestCfg.FlipTest;
        torch.NumThreads = o.Threads > 0 ? o.Threads : Environment.ProcessorCount;
        var device = Device.Parse(o.Device);
        if (o.Model.Type == Pose.Models.Options.ModelType.BottomupPoseEstimator) return RunBottomup(o, checkpoint, device);
        var (model, set) = ModelFactory.Build(o.Model, o.Losses.Gt);
        using (model)
        {
            var loaded = WeightsLoader.LoadInto(model, Path.GetFullPath(checkpoint));
            if (loaded.Mapped) Console.Error.WriteLine($"eval: {loaded}");
            model.To(device);
            var sources = o.Data.Sources.Select(s => SourceData.Load(s, train: false, val: true, o.Evaluation.MpiiGt)).ToList();
            // With skip_bad, what was left out is said: a metric over fewer instances is not the same metric.
            foreach (var s in sources.Where(s => s.Val is { Report.TotalSkipped: > 0 }))
                Console.Error.WriteLine($"eval: {s.Name}: {s.Val!.Report.TotalSkipped} validation records skipped ({s.Val.Report})");
            return PoseEvaluator.Evaluate(model, set, sources, device, o.Data.ValBatchSize, flipTest, o.Data.NumWorkers, metrics: o.Evaluation.Metrics);
        }
    }

    /// <summary>
    /// A bottom-up model on every COCO validation split: whole images, long side scaled to the larger side of
    /// model.input_size, poses decoded (force-complete, as OpenPifPaf's COCO benchmark) and scored by the COCO evaluator.
    /// </summary>
    private static Dictionary<string, double> RunBottomup(Distill.Training.Config.Schema.ExperimentOptions o, string checkpoint, Device device)
    {
        var (model, _) = ModelFactory.BuildBottomup(o.Model);
        using (model)
        {
            WeightsLoader.LoadInto(model, Path.GetFullPath(checkpoint));
            model.To(device);
            // The same splits and scoring as the trainer's validation, so eval reproduces the numbers logged during training.
            return BottomupValidation.Evaluate(model, BottomupValidation.LoadAll(o.Data.Sources), o.Model.InputSize.Max(), o.Data.ValBatchSize, device);
        }
    }
}
