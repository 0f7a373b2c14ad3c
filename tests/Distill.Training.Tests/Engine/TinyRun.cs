using Distill.Pose.Models;
using Distill.Pose.Synthetic;
using Distill.Torch;
using Distill.Torch.Serialization;
using Distill.Training.Config;
using Distill.Training.Engine;
using Microsoft.Extensions.Logging.Abstractions;

namespace Distill.Training.Tests.Engine;

/// <summary>
/// A temporary directory with a small synthetic COCO set (and optionally an MPII set) and a tiny RTMPose-style student
/// (48x64 input, CSPNeXt at 1/8 width), for end-to-end trainer runs of a few seconds.
/// </summary>
internal sealed class TinyRun : IDisposable
{
    /// <summary>The default student, as a YAML flow mapping.</summary>
    public const string Student =
        "{keypoint_set: coco17, input_size: [48, 64], backbone: {type: CSPNeXt, deepen_factor: 0.167, widen_factor: 0.125}, " +
        "head: {type: RTMCCHead, gau: {hidden_dims: 32, s: 16}}, codec: {type: SimCCLabel, sigma: [1.5, 1.5], normalize: false}}";

    public string Dir { get; } = Path.Combine(Path.GetTempPath(), "distill-tiny-" + Guid.NewGuid().ToString("N"));

    private string Data => Path.Combine(Dir, "data").Replace('\\', '/');

    public TinyRun(int seed, int images = 12, int mpiiImages = 0, int aicImages = 0, int crowdPoseImages = 0)
    {
        Synth.Generate(new SynthOptions
        {
            OutDir = Path.Combine(Dir, "data"), Seed = seed, CocoImages = images, MpiiImages = mpiiImages,
            AicImages = aicImages, CrowdPoseImages = crowdPoseImages, Threads = 2,
        });
    }

    /// <summary>The synthetic AI Challenger set (needs <c>aicImages</c> > 0) as a data.sources entry.</summary>
    public string AicSource =>
        $"{{name: aic, format: coco, keypoint_set: aic14, ann_file: {Data}/aic/annotations/aic_train.json, img_dir: {Data}/aic/images/train, " +
        $"val_ann_file: {Data}/aic/annotations/aic_val.json, val_img_dir: {Data}/aic/images/val}}";

    /// <summary>The synthetic CrowdPose set (needs <c>crowdPoseImages</c> > 0) as a data.sources entry.</summary>
    public string CrowdPoseSource =>
        $"{{name: crowdpose, format: coco, keypoint_set: crowdpose14, ann_file: {Data}/crowdpose/annotations/crowdpose_train.json, " +
        $"img_dir: {Data}/crowdpose/images, val_ann_file: {Data}/crowdpose/annotations/crowdpose_val.json}}";

    /// <summary>The synthetic data folder.</summary>
    public string DataDir => Data;

    /// <summary>The synthetic COCO set as a data.sources entry (YAML flow mapping).</summary>
    public string CocoSource =>
        $"{{name: coco, format: coco, ann_file: {Data}/coco/annotations/person_keypoints_train.json, img_dir: {Data}/coco/images/train, " +
        $"val_ann_file: {Data}/coco/annotations/person_keypoints_val.json, val_img_dir: {Data}/coco/images/val}}";

    /// <summary>The synthetic MPII set (needs <c>mpiiImages</c> > 0) as a data.sources entry.</summary>
    public string MpiiSource =>
        $"{{name: mpii, format: mpii, ann_file: {Data}/mpii/annotations/mpii_train.json, img_dir: {Data}/mpii/images, " +
        $"val_ann_file: {Data}/mpii/annotations/mpii_val.json}}";

    /// <summary>
    /// Writes NAME.yaml (work_dir DIR/NAME unless <paramref name="workDir"/> names another); <paramref name="extra"/> is
    /// appended as top-level YAML. The other arguments replace whole sections (YAML flow style): <paramref name="model"/>
    /// (default <see cref="Student"/>), <paramref name="sources"/> (default the COCO set), <paramref name="optimizer"/>,
    /// <paramref name="schedule"/> and <paramref name="evaluation"/>.
    /// </summary>
    public string Config(string name, string train, string extra = "", string? workDir = null, string? model = null,
        IReadOnlyList<string>? sources = null, string? optimizer = null, string? schedule = null, string? evaluation = null,
        int batchSize = 4)
    {
        var sourceLines = string.Join("\n", (sources ?? [CocoSource]).Select(s => "    - " + s));
        var yaml = $$$"""
            name: {{{name}}}
            work_dir: {{{Dir.Replace('\\', '/')}}}/{{{workDir ?? name}}}
            threads: 2
            model: {{{model ?? Student}}}
            data:
              sources:
            {{{sourceLines}}}
              batch_size: {{{batchSize}}}
              val_batch_size: 8
              num_workers: 1
            optimizer: {{{optimizer ?? "{type: AdamW, lr: 1.0e-3, weight_decay: 0.0}"}}}
            schedule: {{{schedule ?? "{type: cosine, warmup_iters: 1}"}}}
            train: {{{train}}}
            evaluation: {{{evaluation ?? "{metrics: [coco, pck], best_metric: coco/AP}"}}}
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

    /// <summary>
    /// Writes a teacher: NAME.model.yaml holding <paramref name="model"/> (a YAML flow mapping) and NAME.safetensors
    /// with the weights of that network as built from seed <paramref name="seed"/> (untrained, but a fixed network
    /// whose outputs differ from the student's). Returns the teachers: entry that uses it.
    /// </summary>
    public string Teacher(string name, string model, ulong seed, string options = "")
    {
        var config = Path.Combine(Dir, name + ".model.yaml");
        File.WriteAllText(config, $"model: {model}\n");
        var checkpoint = Path.Combine(Dir, name + ".safetensors");
        torch.ManualSeed(seed);
        var (net, _) = ModelFactory.Build(ModelConfig.Load(config));
        using (net) SafeTensors.Save(checkpoint, net.StateDict());
        var extra = options.Length > 0 ? ", " + options : "";
        return $"{{name: {name}, config: {config.Replace('\\', '/')}, checkpoint: {checkpoint.Replace('\\', '/')}{extra}}}";
    }

    public void Dispose()
    {
        try { Directory.Delete(Dir, true); } catch (IOException) { }
    }
}
