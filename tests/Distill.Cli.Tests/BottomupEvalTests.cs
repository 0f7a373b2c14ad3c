using Distill.Cli.Tests.Support;
using Distill.Pose.Models;
using Distill.Pose.Synthetic;
using Distill.Torch.Serialization;

namespace Distill.Cli.Tests;

/// <summary>`distill eval` takes a bottom-up experiment config: it decodes whole validation images and prints the COCO
/// metrics of each source.</summary>
public sealed class BottomupEvalTests
{
    [Fact]
    public void EvalPrintsCocoApOfABottomupModel()
    {
        var root = Path.Combine(Path.GetTempPath(), "distill-bu-eval-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        try
        {
            Synth.Generate(new SynthOptions { OutDir = Path.Combine(root, "data"), Seed = 3, CocoImages = 12, Threads = 2, Scene = SynthScene.Standard });
            var config = Path.Combine(root, "bu.yaml");
            File.WriteAllText(config, """
                name: bu
                device: cpu
                model:
                  type: BottomupPoseEstimator
                  input_size: [97, 97]
                  backbone: {type: CSPNeXt, deepen_factor: 0.167, widen_factor: 0.125, out_indices: [2]}
                  head: {type: CifCafHead}
                data:
                  val_batch_size: 4
                  sources:
                    - {name: coco, format: coco, ann_file: data/coco/annotations/person_keypoints_train.json,
                       img_dir: data/coco/images/train, val_ann_file: data/coco/annotations/person_keypoints_val.json,
                       val_img_dir: data/coco/images/val}
                """);
            var (model, _) = ModelFactory.BuildBottomup(ModelConfig.Load(config));
            using (model) SafeTensors.Save(Path.Combine(root, "untrained.safetensors"), model.StateDict());

            var r = DistillCli.Run(root, "eval", config, "--checkpoint", "untrained.safetensors");
            Assert.True(r.ExitCode == 0, r.ToString());
            var rows = r.StdOut.Where(l => l.StartsWith("| coco/", StringComparison.Ordinal))
                .ToDictionary(l => l.Split('|')[1].Trim(), l => double.Parse(l.Split('|')[2], System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(["coco/AP", "coco/AP50", "coco/AP75", "coco/AR"], rows.Keys.Order(StringComparer.Ordinal));
            Assert.All(rows.Values, v => Assert.InRange(v, 0.0, 1.0));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
