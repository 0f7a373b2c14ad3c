using System.Diagnostics;
using System.Globalization;
using System.Text;
using Distill.Pose.BottomUp;
using Distill.Pose.BottomUp.Decoding;
using Distill.Pose.Evaluation;
using Distill.Pose.Models;
using Distill.Pose.Synthetic;
using Distill.Training.Config;
using Distill.Training.Engine;
using Distill.Training.Teachers;
using Distill.Training.Evaluation;
using Microsoft.Extensions.Logging;

namespace Distill.Cli.Commands;

/// <summary>
/// The demo's bottom-up run: synthetic multi-person scenes (group scenes: one to three whole figures), a tiny CIF/CAF
/// student trained on whole images (configs/demo/bottomup_student.yaml; its backbone starts from the shipped bottom-up
/// model, its heads from scratch), and its COCO AP on the scenes' validation split next to the shipped model's and
/// the AP of decoding all-zero fields (no person found, AP 0).
/// </summary>
internal static class DemoBottomup
{
    public const string ConfigName = "bottomup_student";

    /// <summary>The shipped bottom-up model the student's backbone starts from (teachers/manifest.yaml), and its recipe.</summary>
    public const string Shipped = "demo-bottomup";
    public const string ShippedConfigName = "bottomup_teacher";

    /// <summary>The shipped model's own scenes: a seed no student uses, 6,000 group scenes (5,400 to train).</summary>
    private const long ShippedDataSeed = 1000;
    private const int ShippedDataImages = 6000;

    /// <summary>Images of the bottom-up data set (10 % of them validate); fewer when the demo asks for fewer images per source.</summary>
    public const int Images = 400;

    public sealed record Result(TrainingResult Run, double Ap, IReadOnlyDictionary<string, double> ShippedMetrics, bool Retrained,
        double ZeroFieldAp, int TrainImages, int ValImages, TimeSpan Elapsed)
    {
        /// <summary>The demo report's table.</summary>
        public string Table()
        {
            var inv = CultureInfo.InvariantCulture;
            var m = Run.LastMetrics;
            var sb = new StringBuilder();
            sb.AppendLine($"## Bottom-up student ({ConfigName}.yaml): whole images, no boxes ({TrainImages} training and {ValImages} validation scenes)");
            sb.AppendLine();
            sb.AppendLine("| model | coco/AP | coco/AP50 | coco/AP75 | coco/AR | wall |");
            sb.AppendLine("|---|---|---|---|---|---|");
            string source = Retrained ? "retrained" : "shipped";
            sb.AppendLine(string.Create(inv, $"| CIF/CAF student: {source} backbone, heads trained here | {Ap:F4} | {m.GetValueOrDefault("coco/AP50", double.NaN):F4} | " +
                $"{m.GetValueOrDefault("coco/AP75", double.NaN):F4} | {m.GetValueOrDefault("coco/AR", double.NaN):F4} | {Elapsed:mm\\:ss} |"));
            var t = ShippedMetrics;
            sb.AppendLine(string.Create(inv, $"| {source} model ({Shipped}){(Retrained ? ", --train-teachers" : ", as trained offline")} | {t.GetValueOrDefault("coco/AP", double.NaN):F4} | " +
                $"{t.GetValueOrDefault("coco/AP50", double.NaN):F4} | {t.GetValueOrDefault("coco/AP75", double.NaN):F4} | {t.GetValueOrDefault("coco/AR", double.NaN):F4} | - |"));
            sb.AppendLine(string.Create(inv, $"| all-zero fields, decoded | {ZeroFieldAp:F4} | - | - | - | - |"));
            return sb.ToString();
        }
    }

    /// <summary>
    /// Generates the scenes into DEMO/bottomup_data, trains the student through <paramref name="train"/> (the demo's own
    /// runner, given a config name and extra --set overrides; null when stopped), scores the shipped model on the same
    /// scenes and the all-zero baseline. With <paramref name="trainShipped"/> the shipped model is first retrained from
    /// scratch with its recorded recipe (configs/demo/bottomup_teacher.yaml, its own data) and the student starts from the
    /// new weights. Null when the run was stopped.
    /// </summary>
    public static Result? Run(string root, string demoDir, int images, long seed, int? epochs, bool trainShipped,
        Func<string, string[], TrainingResult?> train, ILogger log)
    {
        string ConfigOf(string name) => Path.Combine(root, "configs", "demo", name + ".yaml");
        var clock = Stopwatch.StartNew();
        var registry = TeacherRegistry.Read(Path.Combine(root, TeacherRegistry.DefaultManifest));
        var shipped = registry.Get(Shipped);
        string shippedFile = registry.ResolveCheckpoint(shipped);
        var studentOverrides = new List<string>(DemoCommand.EpochOverrides(ConfigOf(ConfigName), epochs));
        if (trainShipped)
        {
            var data = Synth.Generate(new SynthOptions
            {
                OutDir = Path.Combine(demoDir, "bottomup-teacher-data"),
                Seed = ShippedDataSeed,
                CocoImages = ShippedDataImages,
                Threads = Environment.ProcessorCount,
                Scene = SynthScene.Group,
            });
            log.LogInformation("bottom-up model data (seed {Seed}): {Train}+{Val} multi-person scenes in {Seconds:F1} s", ShippedDataSeed,
                data.CocoTrainImages, data.CocoValImages, data.Elapsed.TotalSeconds);
            var t = train(ShippedConfigName, DemoCommand.EpochOverrides(ConfigOf(ShippedConfigName), epochs));
            if (t is null) return null;
            shippedFile = Path.Combine(t.WorkDir, Shipped + ".safetensors");
            string sha = PublishCommand.Publish(t.BestCheckpoint ?? t.LastCheckpoint, shippedFile);
            bool same = shipped.Sha256 is { } want && sha.StartsWith(want.ToLowerInvariant(), StringComparison.Ordinal);
            Console.WriteLine($"bottom-up model {Shipped}: {DemoCommand.Shown(root, shippedFile)} sha256 {sha} " +
                (same ? "(the shipped weights, bit for bit)" : $"(differs from the manifest's {shipped.Sha256 ?? "none"})"));
            studentOverrides.Add($"model.backbone_checkpoint='{Path.GetFullPath(shippedFile).Replace("'", "''")}'");
        }

        var synth = Synth.Generate(new SynthOptions
        {
            OutDir = Path.Combine(demoDir, "bottomup_data"),
            Seed = seed,
            CocoImages = Math.Min(Images, images),
            Threads = Environment.ProcessorCount,
            Scene = SynthScene.Group,
        });
        log.LogInformation("bottom-up data (seed {Seed}): {Train}+{Val} multi-person scenes in {Seconds:F1} s", seed, synth.CocoTrainImages,
            synth.CocoValImages, synth.Elapsed.TotalSeconds);
        var run = train(ConfigName, [.. studentOverrides]);
        if (run is null) return null;

        var config = ConfigOf(ConfigName);
        var o = ExperimentConfig.Load(config, [.. DemoCommand.PathOverrides(config, root, demoDir), .. studentOverrides]);
        // The shipped model on the same validation scenes: what the student's backbone was trained with, heads included.
        var shippedMetrics = EvalCommand.Run(Path.Combine(root, shipped.Config), ValidationOverrides(o), shippedFile);
        return new Result(run, run.LastMetrics.GetValueOrDefault("coco/AP", double.NaN), shippedMetrics, trainShipped, ZeroFieldAp(o),
            synth.CocoTrainImages, synth.CocoValImages, clock.Elapsed);
    }

    /// <summary>The shipped model's config pointed at the student's data (its own names the data it was trained on).</summary>
    private static string[] ValidationOverrides(Distill.Training.Config.Schema.ExperimentOptions student)
    {
        var s = student.Data.Sources[0];
        return [.. new[] { ("ann_file", s.AnnFile), ("img_dir", s.ImgDir), ("val_ann_file", s.ValAnnFile), ("val_img_dir", s.ValImgDir) }
            .Where(kv => kv.Item2 is not null)
            .Select(kv => $"data.sources.0.{kv.Item1}='{kv.Item2!.Replace("'", "''")}'")];
    }

    /// <summary>
    /// The trivial baseline: every validation image decoded from fields with zero confidence everywhere (the size the
    /// model's fields have at the evaluation edge), scored like the trained model.
    /// </summary>
    private static double ZeroFieldAp(Distill.Training.Config.Schema.ExperimentOptions o)
    {
        var (model, _) = ModelFactory.BuildBottomup(o.Model);
        using (model)
        {
            var split = BottomupValidation.Load(o.Data.Sources[0]);
            int cells = (o.Model.InputSize.Max() - 1) / model.Stride + 1;
            var decoder = new CifCafDecoder(model.Meta, model.DecoderOptions);
            var results = new List<CocoKeypointResult>();
            foreach (var sample in split.Samples)
            {
                var cif = new FieldTensor(model.Meta.NumKeypoints, 5, cells, cells);
                var caf = new FieldTensor(model.Meta.Skeleton.Count, 8, cells, cells);
                results.AddRange(decoder.Decode(cif, caf, model.Stride).Select(p => p.ToCocoResult(sample.ImageId)));
            }
            return new CocoKeypointEvaluator(model.Meta.Sigmas).Evaluate(split.GroundTruth, results).AP;
        }
    }
}
