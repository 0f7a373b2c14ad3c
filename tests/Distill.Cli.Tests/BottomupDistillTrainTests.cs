using Distill.Cli.Tests.Support;
using Distill.Pose.Models;
using Distill.Pose.Synthetic;
using Distill.Torch;
using Distill.Torch.Serialization;
using Distill.Training.Checkpoints;

namespace Distill.Cli.Tests;

/// <summary>
/// `distill train` on a bottom-up config with a bottom-up teacher: the teacher is loaded and logged, its field and
/// feature terms reach train.log, and the checkpoint holds the feature adapter beside the student.
/// </summary>
public sealed class BottomupDistillTrainTests
{
    [Fact]
    public void TrainDistilsABottomupStudentFromABottomupTeacher()
    {
        var root = Path.Combine(Path.GetTempPath(), "distill-bu-kd-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        try
        {
            Synth.Generate(new SynthOptions { OutDir = Path.Combine(root, "data"), Seed = 7, CocoImages = 12, Threads = 2, Scene = SynthScene.Standard });
            // The teacher: a CSPNeXt twice as wide as the student, at the same stride 8.
            var teacherConfig = Path.Combine(root, "teacher.yaml");
            File.WriteAllText(teacherConfig, """
                model:
                  type: BottomupPoseEstimator
                  input_size: [65, 65]
                  backbone: {type: CSPNeXt, deepen_factor: 0.167, widen_factor: 0.25, out_indices: [2]}
                  head: {type: CifCafHead}
                """);
            torch.ManualSeed(3);
            var (teacher, _) = ModelFactory.BuildBottomup(ModelConfig.Load(teacherConfig));
            using (teacher) SafeTensors.Save(Path.Combine(root, "teacher.safetensors"), teacher.StateDict());

            var config = Path.Combine(root, "kd.yaml");
            File.WriteAllText(config, """
                name: bu-kd
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
                  sources:
                    - {name: coco, format: coco, ann_file: data/coco/annotations/person_keypoints_train.json,
                       img_dir: data/coco/images/train, val_ann_file: data/coco/annotations/person_keypoints_val.json,
                       val_img_dir: data/coco/images/val}
                losses:
                  logit_kd: {weight: 0.5, fields: {vector: 0.5}}
                  feature_kd: {weight: 0.01}
                teachers:
                  - {name: big, config: teacher.yaml, checkpoint: teacher.safetensors, feature_weight: 1}
                optimizer: {type: SGD, lr: 0.001, momentum: 0.9, nesterov: true, weight_decay: 0.0, clip_grad_value: 10}
                schedule: {type: constant, warmup_iters: 0}
                train: {max_epochs: 1, val_interval: 1, log_interval: 1}
                evaluation: {metrics: [coco], best_metric: coco/AP}
                """);
            var r = DistillCli.Run(root, "train", config, "--work-dir", "runs/kd");
            Assert.True(r.ExitCode == 0, r.ToString());
            var run = Path.Combine(root, "runs", "kd");
            var log = File.ReadAllText(Path.Combine(run, "train.log"));
            Assert.Contains("teacher big: bottom-up coco17, stride 8", log);
            foreach (var term in new[] { "loss_kd/big/cif.c ", "loss_kd/big/caf.vec ", "loss_kd/big/caf.scales ", "loss_fea/big " })
                Assert.Contains(term, log);
            using var ckpt = CheckpointStore.Load(Path.Combine(run, "last.safetensors"));
            // The 1x1 adapter maps the student's 32 channels of stage 2 onto the teacher's 64.
            Assert.Equal([64L, 32, 1, 1], ckpt.WithPrefix("kd.big.")["align.weight"].Shape);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
