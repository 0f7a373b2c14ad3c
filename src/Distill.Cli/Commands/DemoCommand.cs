using Distill.Pose.Models.Checkpoints;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Distill.Onnx;
using Distill.Pose.Synthetic;
using Distill.Training.Checkpoints;
using Distill.Training.Config;
using Distill.Training.Config.Schema;
using Distill.Training.Evaluation;
using Distill.Training.Engine;
using Distill.Training.Teachers;
using Microsoft.Extensions.Logging;
using Distill.Pose.Models;

namespace Distill.Cli.Commands;

/// <summary>
/// `distill demo`: synthetic COCO-format and MPII-format data, a 21-keypoint student distilled from the shipped COCO
/// and MPII teachers (teachers/demo-*.safetensors, or teachers retrained with --train-teachers) and the same student
/// without distillation, all evaluated on both sources, the student exported to ONNX, and comparison tables.
/// </summary>
internal static class DemoCommand
{
    /// <summary>The demo's folder below the repository root.</summary>
    public const string DefaultOut = "experiments/demo";

    /// <summary>Written into every folder the demo fills: only such a folder is ever cleared by a later demo.</summary>
    public const string Marker = ".distill-demo";

    /// <summary>
    /// The teachers' own synthetic data (configs/demo/teacher_*.yaml): a fixed seed and four times the students'
    /// images, so the teachers have seen more than any student and none of a default student's images.
    /// </summary>
    private const long TeacherDataSeed = 1000;
    private const int TeacherDataImages = 8000;

    /// <summary>The demo teachers: registry name, config, source and the metrics compared on that source.</summary>
    private static readonly (string Registered, string Config, string Source, string[] Metrics)[] Teachers =
    [
        ("demo-coco", "teacher_coco", "coco", ["coco/AP", "coco/PCK@0.1"]),
        ("demo-mpii", "teacher_mpii", "mpii", ["mpii/PCKh", "mpii/PCK@0.1"]),
    ];

    public static Command Create()
    {
        var images = new Option<int>("--images") { Description = "Synthetic images per source (one person each; the teachers saw 8,000 others).", DefaultValueFactory = _ => 1000 };
        var epochs = new Option<int?>("--epochs") { Description = "Epochs per run (default: the demo configs')." };
        var seed = new Option<long>("--seed") { Description = "Seed of the synthetic data (the runs' own seeds stay the configs').", DefaultValueFactory = _ => 0 };
        var trainTeachers = new Option<bool>("--train-teachers")
        {
            Description = "Retrain both teachers and the bottom-up model from scratch with their recorded recipes (configs/demo/teacher_*.yaml, " +
                "bottomup_teacher.yaml; about an hour and a half on two cores), report the sha256 of each against the manifest's, and use them instead of the shipped ones.",
        };
        var outDir = new Option<string>("--out")
        {
            Description = $"Folder for the data and runs (cleared first when a previous demo made it; default {DefaultOut} below the repository root).",
        };
        var dataOnly = new Option<bool>("--data-only") { Description = "Generate the synthetic data into OUT/data and stop." };
        var cmd = new Command("demo", "Run the pipeline on synthetic data: KD student from the shipped teachers, baseline, evaluation, ONNX export, report.")
        {
            images, epochs, seed, trainTeachers, outDir, dataOnly,
        };
        cmd.SetAction(r => Run(r.GetValue(images), r.GetValue(epochs), r.GetValue(seed), r.GetValue(trainTeachers), r.GetValue(outDir), r.GetValue(dataOnly)));
        return cmd;
    }

    private static int Run(int images, int? epochs, long seed, bool trainTeachers, string? outOption, bool dataOnly)
    {
        var total = Stopwatch.StartNew();
        var root = RepoRoot.Find();
        // --out is taken from where the command was started; the configs name their paths from the repository root.
        var demoDir = Path.GetFullPath(outOption ?? Path.Combine(root, DefaultOut));
        Directory.SetCurrentDirectory(root);
        Prepare(demoDir, outOption is null);
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

        // Minutes of CPU training cannot learn the cluttered standard scenes; the simple ones show the machinery.
        Generate(Path.Combine(demoDir, "data"), seed, images, "synthetic data", log);
        if (dataOnly)
        {
            Console.WriteLine($"demo: synthetic data (seed {seed}) in {Shown(root, Path.Combine(demoDir, "data"))}");
            return 0;
        }

        string ConfigOf(string name) => Path.Combine(root, "configs", "demo", name + ".yaml");
        string[] OverridesOf(string name, IEnumerable<string> extra) => [.. PathOverrides(ConfigOf(name), root, demoDir), .. extra];

        var results = new Dictionary<string, TrainingResult>(StringComparer.Ordinal);
        bool Train(string name, string[] overrides)
        {
            if (cts.IsCancellationRequested) return false;
            var config = ConfigOf(name);
            var o = ExperimentConfig.Load(config, overrides, out var resolved);
            log.LogInformation("training {Name} ({Config})", name, Path.GetRelativePath(root, config));
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
            results[name] = r!;
            return !cts.IsCancellationRequested;
        }

        // The teachers: the shipped checkpoints the manifest registers, or retrained ones.
        if (trainTeachers)
        {
            Generate(Path.Combine(demoDir, "teacher-data"), TeacherDataSeed, TeacherDataImages, "teacher data", log);
        }
        var registry = TeacherRegistry.Read(Path.Combine(root, TeacherRegistry.DefaultManifest));
        var teacherFiles = new Dictionary<string, string>(StringComparer.Ordinal);
        var kdOverrides = new List<string>();
        for (int i = 0; i < Teachers.Length; i++)
        {
            var (registered, config, _, _) = Teachers[i];
            var entry = registry.Get(registered);
            if (!trainTeachers)
            {
                teacherFiles[registered] = registry.ResolveCheckpoint(entry);
                continue;
            }
            if (!Train(config, OverridesOf(config, EpochOverrides(ConfigOf(config), epochs)))) break;
            var res = results[config];
            // What ships is the best checkpoint's weights alone (`distill publish`); the same recipe gives the same bytes.
            var file = Path.Combine(res.WorkDir, registered + ".safetensors");
            string sha = PublishCommand.Publish(res.BestCheckpoint ?? res.LastCheckpoint, file);
            bool same = entry.Sha256 is { } want && sha.StartsWith(want.ToLowerInvariant(), StringComparison.Ordinal);
            Console.WriteLine($"teacher {registered}: {Shown(root, file)} sha256 {sha} " +
                (same ? "(the shipped weights, bit for bit)" : $"(differs from the manifest's {entry.Sha256 ?? "none"})"));
            teacherFiles[registered] = file;
            int index = TeacherIndex(ConfigOf("student_kd"), registered);
            kdOverrides.Add($"teachers.{index}.checkpoint={Quote(Path.GetRelativePath(root, file))}");
            kdOverrides.Add($"teachers.{index}.sha256='{sha}'"); // quoted: an all-digit digest would read as a number
        }

        if (!cts.IsCancellationRequested)
        {
            Train("student_kd", OverridesOf("student_kd", [.. EpochOverrides(ConfigOf("student_kd"), epochs), .. kdOverrides]));
            Train("student_baseline", OverridesOf("student_baseline", EpochOverrides(ConfigOf("student_baseline"), epochs)));
        }
        var bottomup = cts.IsCancellationRequested ? null : DemoBottomup.Run(root, demoDir, images, seed, epochs, trainTeachers,
            (name, extra) => Train(name, OverridesOf(name, extra)) ? results[name] : null, log);
        if (cts.IsCancellationRequested)
        {
            Console.WriteLine($"demo: stopped; finished runs are in {Shown(root, demoDir)}/");
            return 0;
        }

        var kd = results["student_kd"].LastMetrics;
        var baseRun = results["student_baseline"].LastMetrics;

        // The teachers on this data's validation splits: against a mean-pose predictor, and against the students.
        var teacherMetrics = new Dictionary<string, IReadOnlyDictionary<string, double>>(StringComparer.Ordinal);
        foreach (var (registered, config, _, _) in Teachers)
            teacherMetrics[registered] = EvalCommand.Run(ConfigOf(config), StudentDataOverrides(ConfigOf(config), root, demoDir), teacherFiles[registered]);
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine();
        Console.WriteLine("## Teachers against a mean-pose predictor (PCK@0.1, box-normalised, own val split)");
        Console.WriteLine();
        Console.WriteLine("| teacher | PCK@0.1 | mean pose | margin |");
        Console.WriteLine("|---|---|---|---|");
        foreach (var (registered, config, source, _) in Teachers)
        {
            var o = ExperimentConfig.Load(ConfigOf(config), StudentDataOverrides(ConfigOf(config), root, demoDir));
            var src = SourceData.Load(o.Data.Sources[0], train: true, val: true);
            double meanPose = PoseEvaluator.MeanPoseBaseline(src.Train!, src.Val!);
            double pck = teacherMetrics[registered].GetValueOrDefault($"{source}/PCK@0.1", double.NaN);
            Console.WriteLine(string.Create(inv, $"| {registered} | {pck:F3} | {meanPose:F3} | {pck - meanPose:+0.000;-0.000} |"));
        }
        Console.WriteLine();
        Console.WriteLine("## Teachers and KD student against the baseline student (each teacher on its own source)");
        Console.WriteLine();
        Console.WriteLine("| teacher | metric | teacher | baseline | teacher margin | KD | KD / teacher |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        foreach (var (registered, _, _, metrics) in Teachers)
            foreach (var m in metrics)
            {
                double t = teacherMetrics[registered].GetValueOrDefault(m, double.NaN);
                double b = baseRun.GetValueOrDefault(m, double.NaN), k = kd.GetValueOrDefault(m, double.NaN);
                string share = t > 0 && double.IsFinite(k) ? string.Create(inv, $"{100 * k / t:F1}%") : "-";
                Console.WriteLine(string.Create(inv, $"| {registered} | {m} | {t:F4} | {b:F4} | {t - b:+0.0000;-0.0000} | {k:F4} | {share} |"));
            }

        // Export the distilled student.
        var onnxPath = Path.Combine(demoDir, "student_kd.onnx");
        try
        {
            var mo = ModelConfig.Load(ConfigOf("student_kd"));
            var (model, kps) = ModelFactory.Build(mo);
            using (model)
            {
                WeightsLoader.LoadInto(model, results["student_kd"].LastCheckpoint);
                model.Eval();
                OnnxExporter.ExportToFile(model, onnxPath, new OnnxExportOptions
                {
                    Pose = ExportCommand.PoseMetadata(kps),
                });
            }
            Console.WriteLine();
            Console.WriteLine($"student exported to {Shown(root, onnxPath)} ({new FileInfo(onnxPath).Length / 1024} KB)");
        }
        catch (Exception ex)
        {
            Console.WriteLine($"ONNX export failed: {ErrorText.Describe(ex)}");
        }

        Console.WriteLine();
        Console.WriteLine("## Runs");
        Console.WriteLine();
        Console.Write(ReportCommand.Build(demoDir));

        Console.WriteLine();
        Console.WriteLine("## KD versus baseline (same student, data, schedule and seed)");
        Console.WriteLine();
        Console.Write(KdReportCommand.Build(kd, baseRun));
        if (bottomup is not null)
        {
            Console.WriteLine();
            Console.Write(bottomup.Table());
        }
        Console.WriteLine();
        Console.WriteLine($"demo finished in {total.Elapsed:mm\\:ss}; runs, logs, TensorBoard files and checkpoints are in {Shown(root, demoDir)}/");
        return 0;
    }

    /// <summary>Simple-scene COCO- and MPII-format data, <paramref name="images"/> per source, logged as <paramref name="what"/>.</summary>
    private static void Generate(string dir, long seed, int images, string what, ILogger log)
    {
        var r = Synth.Generate(new SynthOptions
        {
            OutDir = dir,
            Seed = seed,
            CocoImages = images,
            MpiiImages = images,
            Threads = Environment.ProcessorCount,
            Scene = SynthScene.Simple,
        });
        log.LogInformation("{What} (seed {Seed}): COCO {CocoTrain}+{CocoVal} images, MPII {MpiiTrain}+{MpiiVal} images in {Seconds:F1} s",
            what, seed, r.CocoTrainImages, r.CocoValImages, r.MpiiTrainImages, r.MpiiValImages, r.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// `demo --epochs E` for one demo config (none without --epochs): E epochs, validated and saved at the end, and a
    /// multistep schedule's milestones scaled to the new length (those that land on 0 or E dropped; with none left the
    /// rate stays constant), since milestones past the last epoch are an error.
    /// </summary>
    internal static string[] EpochOverrides(string config, int? epochs)
    {
        if (epochs is not { } e) return [];
        var list = new List<string> { $"train.max_epochs={e}", $"train.val_interval={e}", $"checkpoint.interval={e}" };
        var o = ExperimentConfig.Load(config);
        if (o.Schedule.Type == LrScheduleType.MultiStep)
        {
            var scaled = o.Schedule.Milestones.Select(m => (int)Math.Round((double)m * e / o.Train.MaxEpochs)).Where(m => m > 0 && m < e)
                .Distinct().ToList();
            list.Add($"schedule.milestones=[{string.Join(", ", scaled)}]");
            if (scaled.Count == 0) list.Add("schedule.type=constant");
        }
        return [.. list];
    }

    /// <summary>
    /// Empties <paramref name="dir"/> for a new demo. The default folder is the demo's own; any other is cleared only
    /// when it is empty or a previous demo made it, so a mistyped --out never deletes someone's files.
    /// </summary>
    private static void Prepare(string dir, bool isDefault)
    {
        if (Directory.Exists(dir))
        {
            bool empty = !Directory.EnumerateFileSystemEntries(dir).Any();
            if (!empty && !isDefault && !File.Exists(Path.Combine(dir, Marker)))
                throw new IOException($"demo: --out {dir} is not empty and was not made by the demo; give an empty or new folder");
            Directory.Delete(dir, recursive: true);
        }
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, Marker), "made by `distill demo`; the next demo into this folder clears it\n");
    }

    /// <summary>
    /// --set overrides that move a demo config's data and run folder from experiments/demo/ to <paramref name="demoDir"/>
    /// (none when that is the default folder, so the configs run exactly as written).
    /// </summary>
    internal static string[] PathOverrides(string config, string root, string demoDir)
    {
        var defaultDir = Path.GetFullPath(Path.Combine(root, DefaultOut));
        if (string.Equals(defaultDir, demoDir, StringComparison.Ordinal)) return [];
        var o = ExperimentConfig.Load(config);
        var list = new List<string>();
        string? Moved(string? path) => path is not null && path.StartsWith(DefaultOut + "/", StringComparison.Ordinal)
            ? Quote(Path.GetRelativePath(root, Path.Combine(demoDir, path[(DefaultOut.Length + 1)..])))
            : null;
        for (int i = 0; i < o.Data.Sources.Count; i++)
        {
            var s = o.Data.Sources[i];
            foreach (var (key, value) in new[] { ("ann_file", s.AnnFile), ("img_dir", s.ImgDir), ("val_ann_file", s.ValAnnFile), ("val_img_dir", s.ValImgDir) })
                if (Moved(value) is { } moved) list.Add($"data.sources.{i}.{key}={moved}");
        }
        if (Moved(o.WorkDir) is { } work) list.Add($"work_dir={work}");
        return [.. list];
    }

    /// <summary>
    /// A teacher config's overrides that read the students' data (OUT/data) instead of the teacher's own: teachers are
    /// compared with the students on the students' validation split.
    /// </summary>
    private static string[] StudentDataOverrides(string config, string root, string demoDir)
    {
        var o = ExperimentConfig.Load(config);
        var list = new List<string>(PathOverrides(config, root, demoDir).Where(s => s.StartsWith("work_dir=", StringComparison.Ordinal)));
        const string teacherData = DefaultOut + "/teacher-data/";
        for (int i = 0; i < o.Data.Sources.Count; i++)
        {
            var s = o.Data.Sources[i];
            foreach (var (key, value) in new[] { ("ann_file", s.AnnFile), ("img_dir", s.ImgDir), ("val_ann_file", s.ValAnnFile), ("val_img_dir", s.ValImgDir) })
                if (value is not null && value.StartsWith(teacherData, StringComparison.Ordinal))
                    list.Add($"data.sources.{i}.{key}={Quote(Path.GetRelativePath(root, Path.Combine(demoDir, "data", value[teacherData.Length..])))}");
        }
        return [.. list];
    }

    private static int TeacherIndex(string config, string registered)
    {
        var teachers = ExperimentConfig.Load(config).Teachers;
        for (int i = 0; i < teachers.Count; i++)
            if (teachers[i].Name == registered) return i;
        throw new InvalidOperationException($"{config}: no teacher named '{registered}'");
    }

    /// <summary>A path for the console: relative to the repository root when inside it, else in full.</summary>
    internal static string Shown(string root, string path)
    {
        var rel = Path.GetRelativePath(root, path);
        return rel.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(rel) ? Path.GetFullPath(path) : rel;
    }

    /// <summary>A path as a YAML scalar: single-quoted (quotes doubled) unless it is plainly safe.</summary>
    private static string Quote(string path) =>
        path.All(c => char.IsAsciiLetterOrDigit(c) || c is '/' or '.' or '_' or '-') ? path : "'" + path.Replace("'", "''") + "'";
}
