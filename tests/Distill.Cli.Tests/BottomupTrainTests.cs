using System.Globalization;
using System.Text.Json.Nodes;
using Distill.Cli.Tests.Support;
using Distill.Pose.Synthetic;

namespace Distill.Cli.Tests;

/// <summary>
/// `distill train` on a bottom-up config: the run trains, validates and checkpoints, and `distill eval` of its last
/// checkpoint prints the COCO AP the run's own validation recorded.
/// </summary>
public sealed class BottomupTrainTests
{
    [Fact]
    public void TrainWritesACheckpointWhoseEvalMatchesTheRunsValidation()
    {
        var root = Path.Combine(Path.GetTempPath(), "distill-bu-train-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        try
        {
            Synth.Generate(new SynthOptions { OutDir = Path.Combine(root, "data"), Seed = 5, CocoImages = 12, Threads = 2, Scene = SynthScene.Standard });
            var config = Path.Combine(root, "bu.yaml");
            File.WriteAllText(config, """
                name: bu
                device: cpu
                threads: 2
                model:
                  type: BottomupPoseEstimator
                  input_size: [65, 65]
                  backbone: {type: CSPNeXt, deepen_factor: 0.167, widen_factor: 0.125, out_indices: [2]}
                  head: {type: CifCafHead}
                data:
                  batch_size: 4
                  val_batch_size: 4
                  num_workers: 1
                  square_edge: 65
                  extended_scale: true
                  orientation_invariant: 0.1
                  sources:
                    - {name: coco, format: coco, ann_file: data/coco/annotations/person_keypoints_train.json,
                       img_dir: data/coco/images/train, val_ann_file: data/coco/annotations/person_keypoints_val.json,
                       val_img_dir: data/coco/images/val}
                optimizer: {type: SGD, lr: 0.001, momentum: 0.9, nesterov: true, weight_decay: 0.0, clip_grad_value: 10}
                schedule: {type: constant, warmup: geometric, warmup_iters: 2, warmup_ratio: 0.001}
                ema: {enabled: false}
                train: {max_epochs: 1, val_interval: 1}
                evaluation: {metrics: [coco], best_metric: coco/AP}
                """);
            var r = DistillCli.Run(root, "train", config, "--work-dir", "runs/bu");
            Assert.True(r.ExitCode == 0, r.ToString());
            var run = Path.Combine(root, "runs", "bu");
            Assert.True(File.Exists(Path.Combine(run, "last.safetensors")), r.ToString());
            var summary = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "summary.json")))!;
            double trained = summary["metrics"]!["coco/AP"]!.GetValue<double>();
            Assert.InRange(trained, 0.0, 1.0);
            // The loss terms reached train.log under their own names.
            var log = File.ReadAllText(Path.Combine(run, "train.log"));
            Assert.Contains("cif.c ", log);
            Assert.Contains("caf.vec ", log);

            var e = DistillCli.Run(root, "eval", config, "--checkpoint", "runs/bu/last.safetensors");
            Assert.True(e.ExitCode == 0, e.ToString());
            var row = e.StdOut.Single(l => l.StartsWith("| coco/AP |", StringComparison.Ordinal));
            Assert.Equal(trained, double.Parse(row.Split('|')[2], CultureInfo.InvariantCulture), 4);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
