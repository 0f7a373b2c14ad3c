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
using Distill.Training.Evaluation;
using Microsoft.Extensions.Logging;

namespace Distill.Cli.Commands;

/// <summary>
/// The demo's bottom-up run: synthetic multi-person scenes (standard scenes: one to three figures, occluders, figures
/// cut off at the border), a tiny CIF/CAF student trained on whole images (configs/demo/bottomup_student.yaml), and
/// its COCO AP on the scenes' validation split next to the AP of decoding all-zero fields (no person found, AP 0).
/// </summary>
internal static class DemoBottomup
{
    public const string ConfigName = "bottomup_student";

    /// <summary>Images of the bottom-up data set (10 % of them validate); fewer when the demo asks for fewer images per source.</summary>
    public const int Images = 400;

    public sealed record Result(TrainingResult Run, double Ap, double ZeroFieldAp, int TrainImages, int ValImages, TimeSpan Elapsed)
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
            sb.AppendLine(string.Create(inv, $"| trained CIF/CAF student | {Ap:F4} | {m.GetValueOrDefault("coco/AP50", double.NaN):F4} | " +
                $"{m.GetValueOrDefault("coco/AP75", double.NaN):F4} | {m.GetValueOrDefault("coco/AR", double.NaN):F4} | {Elapsed:mm\\:ss} |"));
            sb.AppendLine(string.Create(inv, $"| all-zero fields, decoded | {ZeroFieldAp:F4} | - | - | - | - |"));
            return sb.ToString();
        }
    }

    /// <summary>
    /// Generates the scenes into DEMO/bottomup_data, trains through <paramref name="train"/> (the demo's own runner, given
    /// extra --set overrides; null when stopped) and scores the all-zero baseline. Null when the run was stopped.
    /// </summary>
    public static Result? Run(string root, string demoDir, int images, long seed, IReadOnlyList<string> overrides,
        Func<string[], TrainingResult?> train, ILogger log)
    {
        var clock = Stopwatch.StartNew();
        var synth = Synth.Generate(new SynthOptions
        {
            OutDir = Path.Combine(demoDir, "bottomup_data"),
            Seed = seed,
            CocoImages = Math.Min(Images, images),
            Threads = Environment.ProcessorCount,
            Scene = SynthScene.Standard,
        });
        log.LogInformation("bottom-up data (seed {Seed}): {Train}+{Val} multi-person scenes in {Seconds:F1} s", seed, synth.CocoTrainImages,
            synth.CocoValImages, synth.Elapsed.TotalSeconds);
        var run = train([.. overrides]);
        if (run is null) return null;

        var config = Path.Combine(root, "configs", "demo", ConfigName + ".yaml");
        var o = ExperimentConfig.Load(config, [.. DemoCommand.PathOverrides(config, root, demoDir), .. overrides]);
        return new Result(run, run.LastMetrics.GetValueOrDefault("coco/AP", double.NaN), ZeroFieldAp(o), synth.CocoTrainImages,
            synth.CocoValImages, clock.Elapsed);
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
