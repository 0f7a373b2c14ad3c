using Distill.Pose.Models.Checkpoints;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Distill.Onnx;
using Distill.Pose.Synthetic;
using Distill.Torch;
using Distill.Training.Checkpoints;
using Distill.Training.Config;
using Distill.Training.Evaluation;
using Distill.Training.Models;
using Distill.Training.Engine;
using Microsoft.Extensions.Logging;
using Distill.Pose.Models;

namespace Distill.Cli.Commands;

/// <summary>
/// `distill demo`: synthetic COCO-format and MPII-format data, a small COCO teacher and a small MPII teacher, a
/// 21-keypoint student distilled from both and the same student without distillation, all evaluated on both
/// sources, the student exported to ONNX, and a comparison table. It replaces experiments/demo/.
/// </summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var images = new Option<int>("--images") { Description = "Synthetic images per source (one person each).", DefaultValueFactory = _ => 2000 };
        var epochs = new Option<int?>("--epochs") { Description = "Epochs per run (default: the demo configs')." };
        var cmd = new Command("demo", "Run the whole pipeline on synthetic data: teachers, KD student, baseline, evaluation, ONNX export, report.")
        {
            images, epochs,
        };
        cmd.SetAction(r => Run(r.GetValue(images), r.GetValue(epochs)));
        return cmd;
    }

    private static int Run(int images, int? epochs)
    {
        var total = Stopwatch.StartNew();
        var root = RepoRoot.Find();
        Directory.SetCurrentDirectory(root); // the demo configs name their paths from the repository root
        var demoDir = Path.Combine(root, "experiments", "demo");
        if (Directory.Exists(demoDir)) Directory.Delete(demoDir, recursive: true);
        using var cts = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cts.Cancel();
        };
        using var loggerFactory = LoggerFactory.Create(b => b.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
        }));
        var log = loggerFactory.CreateLogger("demo");

        var synth = Synth.Generate(new SynthOptions
        {
            OutDir = Path.Combine(demoDir, "data"),
            Seed = 0,
            CocoImages = images,
            MpiiImages = images,
            Threads = Environment.ProcessorCount,
            // Minutes of CPU training cannot learn the cluttered standard scenes; the simple ones show the machinery.
            Scene = SynthScene.Simple,
        });
        log.LogInformation("synthetic data: COCO {CocoTrain}+{CocoVal} images, MPII {MpiiTrain}+{MpiiVal} images in {Seconds:F1} s",
            synth.CocoTrainImages, synth.CocoValImages, synth.MpiiTrainImages, synth.MpiiValImages, synth.Elapsed.TotalSeconds);

        string[] overrides = epochs is { } e ? [$"train.max_epochs={e}", $"train.val_interval={e}", $"checkpoint.interval={e}"] : [];
        var results = new List<(string Name, TrainingResult Result)>();
        foreach (var name in new[] { "teacher_coco", "teacher_mpii", "student_kd", "student_baseline" })
        {
            if (cts.IsCancellationRequested) break;
            var config = Path.Combine(root, "configs", "demo", name + ".yaml");
            var o = ExperimentConfig.Load(config, overrides, out var resolved);
            log.LogInformation("training {Name} ({Config})", name, Path.GetRelativePath(root, config));
            TrainingResult result;
            // Dispose scopes and inference mode are per thread; each run gets one thread of its own.
            Exception? failure = null;
            TrainingResult? r = null;
            var thread = new Thread(() =>
            {
                try
                {
                    using var trainer = new Trainer(o, resolved, new TrainingRequest { ConfigPath = config, Overrides = overrides },
                        loggerFactory.CreateLogger(name));
                    r = trainer.Run(cts.Token);
                }
                catch (Exception ex)
                {
                    failure = ex;
                }
            }, 16 << 20);
            thread.Start();
            thread.Join();
            if (failure is not null) throw new InvalidOperationException($"demo run '{name}' failed: {ErrorText.Describe(failure)}", failure);
            result = r!;
            results.Add((name, result));
        }
        if (cts.IsCancellationRequested)
        {
            Console.WriteLine("demo: stopped; finished runs are in experiments/demo/");
            return 0;
        }

        // Each teacher against a mean-pose predictor on its own validation split.
        Console.WriteLine();
        Console.WriteLine("## Teachers against a mean-pose predictor (PCK@0.1, box-normalised, own val split)");
        Console.WriteLine();
        Console.WriteLine("| teacher | PCK@0.1 | mean pose | margin |");
        Console.WriteLine("|---|---|---|---|");
        foreach (var (teacher, source) in new[] { ("teacher_coco", "coco"), ("teacher_mpii", "mpii") })
        {
            var o = ExperimentConfig.Load(Path.Combine(root, "configs", "demo", teacher + ".yaml"));
            var src = SourceData.Load(o.Data.Sources[0], train: true, val: true);
            double baseline = PoseEvaluator.MeanPoseBaseline(src.Train!, src.Val!);
            double pck = results.First(x => x.Name == teacher).Result.LastMetrics.GetValueOrDefault($"{source}/PCK@0.1", double.NaN);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {teacher} | {pck:F3} | {baseline:F3} | {pck - baseline:+0.000;-0.000} |"));
        }

        // Export the distilled student.
        var onnxPath = Path.Combine(demoDir, "student_kd.onnx");
        try
        {
            var mo = ModelConfig.Load(Path.Combine(root, "configs", "demo", "student_kd.yaml"));
            var (model, kps) = ModelFactory.Build(mo);
            using (model)
            {
                WeightsLoader.LoadInto(model, results.First(x => x.Name == "student_kd").Result.LastCheckpoint);
                model.Eval();
                OnnxExporter.ExportToFile(model, onnxPath, new OnnxExportOptions
                {
                    Pose = ExportCommand.PoseMetadata(kps),
                });
            }
            Console.WriteLine();
            Console.WriteLine($"student exported to {Path.GetRelativePath(root, onnxPath)} ({new FileInfo(onnxPath).Length / 1024} KB)");
        }
        catch (Exception ex)
        {
            Console.WriteLine($"ONNX export failed: {ErrorText.Describe(ex)}");
        }

        Console.WriteLine();
        Console.WriteLine("## Runs");
        Console.WriteLine();
        Console.Write(ReportCommand.Build(demoDir));

        var kd = results.First(x => x.Name == "student_kd").Result.LastMetrics;
        var baseRun = results.First(x => x.Name == "student_baseline").Result.LastMetrics;
        Console.WriteLine();
        Console.WriteLine("## KD versus baseline (same student, data, schedule and seed)");
        Console.WriteLine();
        foreach (var m in new[] { "coco/AP", "coco/PCK@0.1", "mpii/PCKh", "mpii/PCK@0.1" })
        {
            double a = kd.GetValueOrDefault(m, double.NaN), b = baseRun.GetValueOrDefault(m, double.NaN);
            string verdict = !double.IsFinite(a) || !double.IsFinite(b) ? "n/a" : a > b ? "KD better" : a < b ? "baseline better" : "equal";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"- {m}: KD {a:F4} vs baseline {b:F4} ({a - b:+0.0000;-0.0000}): {verdict}"));
        }
        Console.WriteLine();
        Console.WriteLine($"demo finished in {total.Elapsed:mm\\:ss}; runs, logs, TensorBoard files and checkpoints are in experiments/demo/");
        return 0;
    }
}
