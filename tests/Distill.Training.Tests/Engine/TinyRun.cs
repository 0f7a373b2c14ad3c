using Distill.Pose.Synthetic;
using Distill.Training.Config;
using Distill.Training.Engine;
using Microsoft.Extensions.Logging.Abstractions;

namespace Distill.Training.Tests.Training;

/// <summary>
/// A temporary directory with a small synthetic COCO set and a tiny RTMPose-style student (48x64 input, CSPNeXt at
/// 1/8 width), for end-to-end trainer runs of a few seconds.
/// </summary>
internal sealed class TinyRun : IDisposable
{
    public string Dir { get; } = Path.Combine(Path.GetTempPath(), "distill-tiny-" + Guid.NewGuid().ToString("N"));

    public TinyRun(int seed, int images = 12)
    {
        Synth.Generate(new SynthOptions { OutDir = Path.Combine(Dir, "data"), Seed = seed, CocoImages = images, Threads = 2 });
    }

    /// <summary>Writes NAME.yaml (work_dir DIR/NAME unless <paramref name="workDir"/> names another); <paramref name="extra"/> is appended as top-level YAML.</summary>
    public string Config(string name, string train, string extra = "", string? workDir = null)
    {
        var d = Path.Combine(Dir, "data").Replace('\\', '/');
        var yaml = $$$"""
            name: {{{name}}}
            work_dir: {{{Dir.Replace('\\', '/')}}}/{{{workDir ?? name}}}
            threads: 2
            model:
              keypoint_set: coco17
              input_size: [48, 64]
              backbone: {type: CSPNeXt, deepen_factor: 0.167, widen_factor: 0.125}
              head: {type: RTMCCHead, gau: {hidden_dims: 32, s: 16}}
              codec: {type: SimCCLabel, sigma: [1.5, 1.5], normalize: false}
            data:
              sources:
                - {name: coco, format: coco, ann_file: {{{d}}}/coco/annotations/person_keypoints_train.json, img_dir: {{{d}}}/coco/images/train,
                   val_ann_file: {{{d}}}/coco/annotations/person_keypoints_val.json, val_img_dir: {{{d}}}/coco/images/val}
              batch_size: 4
              val_batch_size: 8
              num_workers: 1
            optimizer: {type: AdamW, lr: 1.0e-3, weight_decay: 0.0}
            schedule: {type: cosine, warmup_iters: 1}
            train: {{{train}}}
            evaluation: {metrics: [coco, pck], best_metric: coco/AP}
            {{{extra}}}
            """;
        var path = Path.Combine(Dir, name + ".yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    /// <summary>Builds a trainer for <paramref name="config"/>; <paramref name="resume"/> as the --resume option, <paramref name="set"/> as --set overrides.</summary>
    public Trainer Trainer(string config, string? resume = null, IReadOnlyList<string>? set = null, ITrainingProgress? progress = null)
    {
        var o = ExperimentConfig.Load(config, set ?? [], out var resolved);
        return new Trainer(o, resolved, new TrainingRequest { ConfigPath = config, Resume = resume }, NullLogger.Instance, progress);
    }

    public TrainingResult Train(string config, string? resume = null, IReadOnlyList<string>? set = null)
    {
        using var trainer = Trainer(config, resume, set);
        return trainer.Run(CancellationToken.None);
    }

    public void Dispose()
    {
        try { Directory.Delete(Dir, true); } catch (IOException) { }
    }
}
