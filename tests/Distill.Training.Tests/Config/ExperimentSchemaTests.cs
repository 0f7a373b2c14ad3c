using Distill.Training.Config;
using Distill.Training.Config.Schema;
using static Distill.Training.Tests.Config.ConfigTree;
using Distill.Config;
using Distill.Training.Distillation;
using Distill.Pose.Models.Options;
using Distill.Pose.Models;
using Distill.Pose.Losses;

namespace Distill.Training.Tests.Config;

public sealed class ExperimentSchemaTests : IDisposable
{
    private const string Sources = """
        data:
          sources:
            - name: coco
              format: coco
              ann_file: coco/annotations/person_keypoints_train2017.json
              img_dir: coco/train2017
        """;

    private readonly ConfigFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void AUnifiedStudentDistillationExperimentBindsEverySection()
    {
        var path = _files.Write("configs/distill/unified_t.yaml", """
            name: unified-t
            work_dir: runs/unified-t
            seed: 3
            device: cuda:1
            threads: 2
            deterministic: true
            codec:
              type: SimCCLabel
              sigma: [4.9, 5.66]
              simcc_split_ratio: 2.0
            model:
              keypoint_set: unified21
              input_size: [192, 256]
              backbone:
                type: CSPNeXt
                arch: P5
                deepen_factor: 0.167
                widen_factor: 0.375
                out_indices: [4]
              head:
                type: RTMCCHead
                in_channels: 384
                out_channels: 21
                gau: {hidden_dims: 256, s: 128, expansion_factor: 2, act_fn: SiLU}
              test_cfg: {flip_test: true}
              backbone_checkpoint: ckpt/cspnext-t_imagenet.pth
            data:
              batch_size: 64
              num_workers: 4
              sources:
                - name: coco
                  format: coco
                  ann_file: coco/train.json
                  img_dir: coco/train2017
                  keypoint_set: coco17
                  ratio: 0.6
                  val_ann_file: coco/val.json
                  val_img_dir: coco/val2017
                  bbox_file: coco/person_detection_results.json
                - name: mpii
                  format: mpii
                  ann_file: mpii/train.json
                  img_dir: mpii/images
                  ratio: 0.4
                  skip_bad: true
              stage2_pipeline:
                shift_prob: 0.0
                scale_factor: [0.75, 1.25]
                rotate_factor: 60
                dropout_prob: 0.5
              stage2_epochs: 30
            losses:
              gt: {type: KLDiscretLoss, weight: 0.3, beta: 10}
              logit_kd: {weight: 1.0, temperature: 0.1, reduction: dwpose, mask_unknown: true, schedule: linear}
              feature_kd: {weight: 7.0e-5, schedule: constant}
            teachers:
              - name: rtmpose-m-coco
                config: configs/models/rtmpose_m_coco.yaml
                checkpoint: ckpt/rtmpose-m_coco.pth
                sha256: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789ABCDEF
                logit_weight: 0.25
              - name: rtmpose-m-mpii
                checkpoint: ckpt/rtmpose-m_mpii.pth
                keypoint_set: mpii16
                input_size: [256, 256]
                logit_weight: 0.45
                feature_weight: 1.0
                fold_bn: false
            optimizer:
              type: AdamW
              lr: 0.004
              weight_decay: 0.0
              clip_grad: {max_norm: 1.0}
              accumulate_steps: 2
            schedule: {warmup_iters: 1000, type: flat_cosine, cosine_begin_epoch: 210, eta_min_ratio: 0.05}
            ema: {enabled: false}
            train:
              max_epochs: 420
              val_interval: 10
              self_distill: {enabled: true, epochs: 60}
            evaluation: {metrics: [coco, pckh], best_metric: coco/AP, rule: greater}
            logging: {tensorboard: true, log_images: true}
            checkpoint: {interval: 5, keep_last: 0}
            """);

        var exp = ExperimentConfig.Load(path);

        Assert.Equal("unified-t", exp.Name);
        Assert.Equal("runs/unified-t", exp.WorkDir);
        Assert.Equal("cuda:1", exp.Device);
        Assert.True(exp.Deterministic);
        Assert.Equal("unified21", exp.Model.KeypointSet);
        Assert.Equal(BackboneType.CSPNeXt, exp.Model.Backbone.Type);
        Assert.Equal(0.167, exp.Model.Backbone.DeepenFactor);
        Assert.Equal([4], exp.Model.Backbone.OutIndices!);
        Assert.Equal(384, exp.Model.Head.InChannels);
        Assert.Equal(GauActivation.SiLU, exp.Model.Head.Gau.ActFn);
        Assert.Equal([4.9, 5.66], exp.Model.Codec.Sigma!);
        Assert.Equal(2, exp.Data.Sources.Count);
        Assert.Equal(DataFormat.Mpii, exp.Data.Sources[1].Format);
        Assert.True(exp.Data.Sources[1].SkipBad);
        Assert.False(exp.Data.Sources[0].SkipBad);
        Assert.Equal([0.75, 1.25], exp.Data.Stage2Pipeline!.ScaleFactor);
        Assert.Equal(0.5, exp.Data.Stage2Pipeline.FlipProb);
        Assert.Equal(KDReduction.DWPose, exp.Losses.LogitKd.Reduction);
        Assert.Equal(WeightSchedule.Linear, exp.Losses.LogitKd.Schedule);
        Assert.Equal(10.0, exp.Losses.LogitKd.EffectiveBeta, 12);
        Assert.Equal(7e-5, exp.Losses.FeatureKd.Weight);
        Assert.Equal("configs/models/rtmpose_m_coco.yaml", exp.Teachers[0].Config);
        Assert.True(exp.Teachers[0].FoldBn);
        Assert.False(exp.Teachers[1].FoldBn);
        Assert.Equal([256, 256], exp.Teachers[1].InputSize!);
        Assert.Equal(1.0, exp.Optimizer.ClipGrad!.MaxNorm);
        Assert.Equal(LrScheduleType.FlatCosine, exp.Schedule.Type);
        Assert.False(exp.Ema.Enabled);
        Assert.True(exp.Train.SelfDistill.Enabled);
        Assert.Equal(CompareRule.Greater, exp.Evaluation.Rule);
        Assert.Equal(0, exp.Checkpoint.KeepLast);
    }

    [Fact]
    public void DefaultsFollowTheRtmposeCocoRecipe()
    {
        var exp = ExperimentConfig.Load(_files.Write("minimal.yaml", "model: {}\n" + Sources));

        // The figures below are those of the RTMPose recipe in the pose reference notes.
        Assert.Equal("minimal", exp.Name);
        Assert.Equal("experiments/minimal", exp.WorkDir);
        Assert.Equal("cpu", exp.Device);
        Assert.Equal([192, 256], exp.Model.InputSize);
        Assert.Equal([123.675, 116.28, 103.53], exp.Model.Mean);
        Assert.Equal([58.395, 57.12, 57.375], exp.Model.Std);
        Assert.Equal(0.1, exp.Model.BnMomentum);
        Assert.Equal(1e-5, exp.Model.BnEps);
        Assert.Equal(2.0, exp.Model.Codec.SimccSplitRatio);
        Assert.Equal((256, 128, 2), (exp.Model.Head.Gau.HiddenDims, exp.Model.Head.Gau.S, exp.Model.Head.Gau.ExpansionFactor));
        Assert.Equal(7, exp.Model.Head.FinalLayerKernelSize);
        Assert.Equal((OptimizerType.AdamW, 4e-3, 0.05), (exp.Optimizer.Type, exp.Optimizer.Lr, exp.Optimizer.WeightDecay));
        Assert.Null(exp.Optimizer.ClipGrad);
        Assert.Equal((1000, 1e-5, 0.05), (exp.Schedule.WarmupIters, exp.Schedule.WarmupRatio, exp.Schedule.EtaMinRatio));
        Assert.Equal((2e-4, 2000.0), (exp.Ema.Momentum, exp.Ema.Gamma));
        var p = exp.Data.Pipeline;
        Assert.Equal((0.5, 0.3, 0.16, 0.3), (p.FlipProb, p.HalfBodyProb, p.ShiftFactor, p.ShiftProb));
        Assert.Equal([0.6, 1.4], p.ScaleFactor);
        Assert.Equal((80.0, 0.6), (p.RotateFactor, p.RotateProb));
        Assert.Equal((5, 30, 30), (p.Hsv.Hue, p.Hsv.Sat, p.Hsv.Val));
        Assert.Equal((0.1, 0.1), (p.BlurProb, p.MedianBlurProb));
        Assert.Equal([0.2, 0.4], p.DropoutSize);
        Assert.Equal(1.25, p.Padding);
        Assert.Equal(10.0, exp.Losses.LogitKd.EffectiveBeta);
    }

    [Fact]
    public void ARunNamedAfterANumericFileNameStaysAString()
    {
        var exp = ExperimentConfig.Load(_files.Write("2024.yaml", "model: {}\n" + Sources), null, out var resolved);

        Assert.Equal("2024", exp.Name);
        Assert.Contains("\nname: '2024'\nwork_dir: experiments/2024\n", ConfigLoader.ToYaml(resolved));
    }

    [Fact]
    public void MissingSectionsAndSourceFieldsAreReportedTogether()
    {
        var path = _files.Write("bare.yaml", """
            name: x
            data:
              sources:
                - name: coco
                  ann_file: a.json
            """);

        var ex = Assert.Throws<ConfigException>(() => ExperimentConfig.Load(path));

        AssertLines(
        [
            $"{path}:4:7: data.sources.0.format: missing required key",
            $"{path}:4:7: data.sources.0.img_dir: missing required key",
            $"{path}:1:1: model: missing required key",
        ], Messages(ex));
    }

    [Fact]
    public void SchemaChecksAcrossKeysAreLocatedAtTheKeyTheyConcern()
    {
        var path = _files.Write("checks.yaml", """
            device: gpu
            model:
              backbone: {arch: P7}
              head: {type: HeatmapHead, final_layer_kernel_size: 4}
            teachers:
              - {name: t, sha256: abc}
              - {name: t}
            evaluation: {best_metric: pckh/Mean}
            """ + "\n" + Sources);

        var ex = Assert.Throws<ConfigException>(() => ExperimentConfig.Load(path));

        AssertLines(
        [
            $"{path}:3:20: model.backbone.arch: a CSPNeXt arch is P5 or P6, got 'P7'",
            $"{path}:4:54: model.head.final_layer_kernel_size: must be odd, got 4",
            // No codec key is written under model, so the message points at the model mapping (its first key).
            $"{path}:3:3: model.codec.type: a HeatmapHead needs a MSRAHeatmap or UDPHeatmap codec, not SimCCLabel",
            $"{path}:6:23: teachers.0.sha256: expected a SHA-256 digest: 64 hexadecimal digits, or a prefix of at least 8, got 'abc'",
            $"{path}:8:27: evaluation.best_metric: 'Mean' is not computed by the metrics chosen (coco, pckh, pck), which report " +
                "AP, AP .5, AP .75, AP (M), AP (L), AR, AR .5, AR .75, AR (M), AR (L), PCKh, PCKh@0.1, PCK@0.1",
            $"{path}:1:9: device: expected cpu, cuda or cuda:N, got 'gpu'",
            $"{path}:7:12: teachers.1.name: another teacher is already named 't'",
        ], Messages(ex));
    }

    [Fact]
    public void HistogramIntervalWithoutHistogramsAndTheSelfTeachersNameAreRejected()
    {
        var path = _files.Write("hist.yaml", """
            model: {}
            teachers:
              - {name: self_teacher}
            logging: {histogram_interval: 2}
            """ + "\n" + Sources);

        var ex = Assert.Throws<ConfigException>(() => ExperimentConfig.Load(path));

        var messages = Messages(ex);
        Assert.Contains(messages, m => m.StartsWith($"{path}:4:") && m.Contains("logging.histogram_interval: histogram_interval is set but histograms is false"));
        Assert.Contains(messages, m => m.StartsWith($"{path}:3:") && m.Contains("teachers.0.name: 'self_teacher' is reserved"));
        Assert.Equal(2, messages.Length);
    }

    [Fact]
    public void LoadErrorsAndBindingErrorsOfOneExperimentComeInOneException()
    {
        var path = _files.Write("many.yaml", """
            model:
              input_size: [192, 256, 3]
              head: {type: RTMCCHead}
              head: {type: HeatmapHead}
            optimizer:
              lrr: 0.1
              momentum: 1.5
            train: {max_epochs: many}
            """ + "\n" + Sources);

        var ex = Assert.Throws<ConfigException>(() => ExperimentConfig.Load(path, ["schedule.typ=cosine"]));

        AssertLines(
        [
            $"{path}:4:3: model.head: duplicate key (first defined at line 3, column 3)",
            $"{path}:2:15: model.input_size: expected exactly 2 items, got 3",
            $"{path}:6:3: optimizer.lrr: unknown key (did you mean 'lr'?)",
            $"{path}:7:13: optimizer.momentum: 1.5 is out of range: must be in [0, 1]",
            $"{path}:8:21: train.max_epochs: expected an integer, got 'many'",
            "--set schedule.typ=cosine: schedule.typ: unknown key (did you mean 'type'?)",
        ], Messages(ex));
        Assert.StartsWith("6 configuration errors:\n  " + path + ":4:3: model.head: duplicate key", ex.Message.Replace("\r\n", "\n"));
    }

    [Fact]
    public void LoadModelReadsOnlyTheModelSection()
    {
        var path = _files.Write("teacher.yaml", """
            name: rtmpose-m-mpii
            codec: {type: SimCCLabel, sigma: [5.66, 5.66]}
            model:
              keypoint_set: mpii16
              input_size: [256, 256]
              backbone: {deepen_factor: 0.67, widen_factor: 0.75}
            data:
              sources: not even a list
              bogus_key: 1
            """);

        var model = ModelConfig.Load(path, ["model.head.in_channels=768", "data.batch_size=oops", "codec.simcc_split_ratio=3"]);

        Assert.Equal("mpii16", model.KeypointSet);
        Assert.Equal([256, 256], model.InputSize);
        Assert.Equal(0.75, model.Backbone.WidenFactor);
        Assert.Equal(768, model.Head.InChannels);
        Assert.Equal([5.66, 5.66], model.Codec.Sigma!);
        Assert.Equal(3.0, model.Codec.SimccSplitRatio);

        // The same file is not a valid experiment.
        var ex = Assert.Throws<ConfigException>(() => ExperimentConfig.Load(path));
        AssertLines(
        [
            $"{path}:8:12: data.sources: expected a list, got 'not even a list'",
            $"{path}:9:3: data.bogus_key: unknown key (expected one of: sources, batch_size, val_batch_size, num_workers, prefetch, pipeline, stage2_pipeline, stage2_epochs, square_edge, extended_scale, orientation_invariant, rescale_images, hflip, augmentation)",
        ], Messages(ex));
    }

    [Fact]
    public void LoadModelErrorsArePrefixedWithTheModelPath()
    {
        var noModel = _files.Write("nomodel.yaml", "name: x\n");
        var badModel = _files.Write("badmodel.yaml", "model:\n  backbone: {type: ResNet}\n");

        AssertLines([$"{noModel}:1:1: model: missing required key"],
            Messages(Assert.Throws<ConfigException>(() => ModelConfig.Load(noModel))));
        AssertLines([$"{badModel}:2:20: model.backbone.type: expected one of CSPNeXt, VisionTransformer, HRFormer; got 'ResNet'"],
            Messages(Assert.Throws<ConfigException>(() => ModelConfig.Load(badModel))));
    }

    [Fact]
    public void CodecUnderModelAndAtTheTopLevelMergeWithTheModelSpellingOnTop()
    {
        var path = _files.Write("codec.yaml", """
            codec: {type: SimCCLabel, sigma: [4.9, 5.66], simcc_split_ratio: 3.0}
            model:
              codec: {sigma: [6.0]}
            """);

        var model = ModelConfig.Load(path);

        Assert.Equal([6.0], model.Codec.Sigma!);
        Assert.Equal(3.0, model.Codec.SimccSplitRatio);
    }

    [Fact]
    public void ACrossKeyCheckIsDroppedWhenAKeyItReadFailedToBind()
    {
        // head.type is misspelt, so the head keeps its RTMCCHead default; comparing that default with the heatmap
        // codec would blame the codec for the head's typo.
        var path = _files.Write("typo.yaml", """
            model:
              head: {type: HeatmapHaed}
              codec: {type: MSRAHeatmap}
            """);

        AssertLines([$"{path}:2:16: model.head.type: expected one of RTMCCHead, HeatmapHead, RegressionHead, CifCafHead; got 'HeatmapHaed' (did you mean 'HeatmapHead'?)"],
            Messages(Assert.Throws<ConfigException>(() => ModelConfig.Load(path))));
    }

    [Fact]
    public void VisionTransformerBackbonesAreChecked()
    {
        var path = _files.Write("vit.yaml", """
            model:
              backbone: {type: VisionTransformer, arch: custom, embed_dims: 384, num_heads: 5}
              head: {type: HeatmapHead}
              codec: {type: UDPHeatmap, sigma: [2]}
            """);

        AssertLines(
        [
            $"{path}:2:45: model.backbone.arch: a custom VisionTransformer needs embed_dims, num_layers, num_heads and feedforward_channels",
            $"{path}:2:81: model.backbone.num_heads: embed_dims 384 is not divisible by num_heads 5",
        ], Messages(Assert.Throws<ConfigException>(() => ModelConfig.Load(path))));
    }
}
