using Distill.Training.Config;
using Distill.Training.Config.Schema;
using Distill.Config;
using Distill.Training.Distillation;
using Distill.Pose.Models.Options;
using Distill.Pose.Losses;

namespace Distill.Training.Tests.Config;

public sealed class SchemaKeysTests : IDisposable
{
    private readonly ConfigFiles _files = new();

    public void Dispose() => _files.Dispose();

    /// <summary>Every key of the documented experiment layout, each with a valid non-default value.</summary>
    private const string EveryKey = """
        name: all-keys
        work_dir: runs/all
        seed: 7
        device: cuda
        threads: 1
        deterministic: true
        codec: {simcc_split_ratio: 2.0}
        model:
          type: TopdownPoseEstimator
          keypoint_set: mpii16
          input_size: [256, 256]
          backbone:
            type: CSPNeXt
            arch: P6
            deepen_factor: 0.33
            widen_factor: 0.5
            out_indices: [3, 4]
            channel_attention: false
            expand_ratio: 0.25
            embed_dims: 384
            num_layers: 12
            num_heads: 12
            feedforward_channels: 1536
            patch_size: 14
            patch_padding: 0
            drop_path_rate: 0.3
            img_size: [192, 256]
            qkv_bias: false
          head:
            type: RTMCCHead
            in_channels: 512
            out_channels: 16
            final_layer_kernel_size: 5
            gau: {hidden_dims: 128, s: 64, expansion_factor: 3, dropout_rate: 0.1, drop_path: 0.1, act_fn: ReLU, use_rel_bias: true, pos_enc: true}
            deconv_out_channels: [128]
            deconv_kernel_sizes: [3]
            conv_out_channels: [64]
            num_persons: 2
          codec:
            type: SimCCLabel
            input_size: [256, 256]
            sigma: [5.66]
            normalize: true
            use_dark: true
            heatmap_size: [64, 64]
          # shift_heatmap needs a heatmap codec (Distill.Pose.Tests' FlipTestShiftTests bind it with one).
          test_cfg: {flip_test: false}
          init_checkpoint: init.pth
          backbone_checkpoint: backbone.pth
          mean: [0, 0, 0]
          std: [1, 1, 1]
          bn_momentum: 0.03
          bn_eps: 0.001
          channels_last: false
        data:
          sources:
            - name: mpii
              format: mpii
              ann_file: mpii/train.json
              img_dir: mpii/images
              keypoint_set: mpii16
              ratio: 2
              val_ann_file: mpii/val.json
              val_img_dir: mpii/images
              bbox_file: mpii/boxes.json
              skip_bad: true
          batch_size: 8
          val_batch_size: 16
          num_workers: 0
          prefetch: 4
          pipeline:
            flip_prob: 0.4
            half_body_prob: 0.2
            shift_factor: 0.1
            shift_prob: 0.2
            scale_factor: [0.7, 1.3]
            rotate_factor: 40
            rotate_prob: 0.5
            hsv: {hue: 10, sat: 20, val: 25}
            blur_prob: 0.05
            median_blur_prob: 0.05
            dropout_prob: 0.9
            dropout_size: [0.1, 0.3]
            padding: 1.5
          stage2_pipeline: {shift_prob: 0.0}
          stage2_epochs: 30
        losses:
          gt: {type: KeypointMSELoss, weight: 0.5, beta: 5, label_softmax: false, use_target_weight: false}
          logit_kd: {weight: 0.1, beta: 5, reduction: batchmean, mask_unknown: true, schedule: cosine}
          feature_kd: {weight: 0.001, schedule: linear}
        teachers:
          - name: rtmpose-m-mpii
            config: models/m.yaml
            checkpoint: m.pth
            sha256: ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff
            weight: 0.5
            keypoint_set: mpii16
            input_size: [256, 256]
            logit_weight: 0.45
            feature_weight: 0.2
            fold_bn: false
            channels_last: false
            runtime: onnxruntime
            sources: [mpii]
        optimizer:
          type: SGD
          lr: 0.01
          weight_decay: 0.0001
          betas: [0.8, 0.99]
          eps: 1.0e-6
          momentum: 0.95
          nesterov: true
          norm_decay_mult: 1.0
          bias_decay_mult: 0.5
          clip_grad: {max_norm: 35, norm_type: 1}
          clip_grad_value: 10
          accumulate_steps: 4
          backbone_lr_mult: 0.1
        schedule:
          warmup_iters: 500
          warmup_ratio: 0.001
          warmup: geometric
          decay_spread_epochs: 1
          type: multistep
          milestones: [170, 200]
          gamma: 0.5
          eta_min_ratio: 0.0
          by_epoch: true
          cosine_begin_epoch: 105
        ema: {enabled: false, momentum: 0.001, gamma: 1000, update_buffers: false}
        train:
          max_epochs: 210
          val_interval: 5
          log_interval: 10
          self_distill: {enabled: true, epochs: 20, logit_weight: 0.5}
        teachers_manifest: registry/teachers.yaml
        evaluation: {metrics: [pckh, epe], best_metric: mpii/EPE, rule: less, flip_test: false, mpii_gt: mpii/mpii_gt_val.mat}
        logging: {tensorboard: false, log_images: true, histograms: true, histogram_interval: 3}
        checkpoint: {interval: 1, keep_last: 5, save_best: false, save_optimizer: false}
        """;

    [Fact]
    public void EveryDocumentedKeyIsAcceptedAndLandsInItsProperty()
    {
        var exp = ExperimentConfig.Load(_files.Write("all.yaml", EveryKey));

        Assert.Equal((7, "cuda", 1, true), (exp.Seed, exp.Device, exp.Threads, exp.Deterministic));
        var b = exp.Model.Backbone;
        Assert.Equal(("P6", 0.25, 384, 12, 12, 1536, 14, 0, 0.3, false, false),
            (b.Arch, b.ExpandRatio, b.EmbedDims, b.NumLayers, b.NumHeads, b.FeedforwardChannels, b.PatchSize, b.PatchPadding, b.DropPathRate, b.QkvBias, b.ChannelAttention));
        Assert.Equal([192, 256], b.ImgSize!);
        var h = exp.Model.Head;
        Assert.Equal((512, 16, 5, 2), (h.InChannels, h.OutChannels, h.FinalLayerKernelSize, h.NumPersons));
        Assert.Equal((128, 64, 3, 0.1, 0.1, GauActivation.ReLU, true, true),
            (h.Gau.HiddenDims, h.Gau.S, h.Gau.ExpansionFactor, h.Gau.DropoutRate, h.Gau.DropPath, h.Gau.ActFn, h.Gau.UseRelBias, h.Gau.PosEnc));
        Assert.Equal([128], h.DeconvOutChannels);
        Assert.Equal([3], h.DeconvKernelSizes);
        Assert.Equal([64], h.ConvOutChannels);
        var c = exp.Model.Codec;
        Assert.Equal((2.0, true, true), (c.SimccSplitRatio, c.Normalize, c.UseDark));
        Assert.Equal([64, 64], c.HeatmapSize!);
        Assert.Equal((false, (bool?)null), (exp.Model.TestCfg.FlipTest, exp.Model.TestCfg.ShiftHeatmap));
        Assert.Equal(("init.pth", "backbone.pth", 0.03, 0.001, false),
            (exp.Model.InitCheckpoint, exp.Model.BackboneCheckpoint, exp.Model.BnMomentum, exp.Model.BnEps, exp.Model.ChannelsLast));
        var s = exp.Data.Sources[0];
        Assert.Equal(("mpii16", 2.0, "mpii/val.json", "mpii/images", "mpii/boxes.json"), (s.KeypointSet, s.Ratio, s.ValAnnFile, s.ValImgDir, s.BboxFile));
        Assert.Equal((8, 16, 0, 4, 30), (exp.Data.BatchSize, exp.Data.ValBatchSize, exp.Data.NumWorkers, exp.Data.Prefetch, exp.Data.Stage2Epochs));
        var p = exp.Data.Pipeline;
        Assert.Equal((10, 20, 25, 0.9, 1.5), (p.Hsv.Hue, p.Hsv.Sat, p.Hsv.Val, p.DropoutProb, p.Padding));
        Assert.Equal(((GtLossType?)GtLossType.KeypointMSELoss, false, false), (exp.Losses.Gt.Type, exp.Losses.Gt.LabelSoftmax, exp.Losses.Gt.UseTargetWeight));
        Assert.Equal((KDReduction.BatchMean, WeightSchedule.Cosine, 5.0), (exp.Losses.LogitKd.Reduction, exp.Losses.LogitKd.Schedule, exp.Losses.LogitKd.EffectiveBeta));
        Assert.Equal(WeightSchedule.Linear, exp.Losses.FeatureKd.Schedule);
        var t = exp.Teachers[0];
        Assert.Equal(("models/m.yaml", 0.5, 0.45, 0.2, false, false), (t.Config, t.Weight, t.LogitWeight, t.FeatureWeight, t.FoldBn, t.ChannelsLast));
        Assert.Equal(TeacherRuntime.OnnxRuntime, t.Runtime);
        Assert.Equal(["mpii"], t.Sources!);
        var o = exp.Optimizer;
        Assert.Equal((OptimizerType.SGD, 0.95, true, 1.0, 0.5, 4, 0.1), (o.Type, o.Momentum, o.Nesterov, o.NormDecayMult, o.BiasDecayMult, o.AccumulateSteps, o.BackboneLrMult));
        Assert.Equal((35.0, 1.0, (double?)10.0), (o.ClipGrad!.MaxNorm, o.ClipGrad.NormType, o.ClipGradValue));
        Assert.Equal((LrScheduleType.MultiStep, 0.5, 105), (exp.Schedule.Type, exp.Schedule.Gamma, exp.Schedule.CosineBeginEpoch));
        Assert.Equal((WarmupType.Geometric, 1), (exp.Schedule.Warmup, exp.Schedule.DecaySpreadEpochs));
        Assert.Equal((false, 0.001, 1000.0, false), (exp.Ema.Enabled, exp.Ema.Momentum, exp.Ema.Gamma, exp.Ema.UpdateBuffers));
        Assert.Equal((5, 10, 20, 0.5), (exp.Train.ValInterval, exp.Train.LogInterval, exp.Train.SelfDistill.Epochs, exp.Train.SelfDistill.LogitWeight));
        Assert.Equal((CompareRule.Less, (bool?)false), (exp.Evaluation.Rule, exp.Evaluation.FlipTest));
        Assert.Equal([MetricFamily.Pckh, MetricFamily.Epe], exp.Evaluation.Metrics);
        Assert.Equal("mpii/mpii_gt_val.mat", exp.Evaluation.MpiiGt);
        Assert.Equal("registry/teachers.yaml", exp.TeachersManifest);
        Assert.Equal((false, true, true, (int?)3), (exp.Logging.Tensorboard, exp.Logging.LogImages, exp.Logging.Histograms, exp.Logging.HistogramInterval));
        Assert.Equal((1, 5, false, false), (exp.Checkpoint.Interval, exp.Checkpoint.KeepLast, exp.Checkpoint.SaveBest, exp.Checkpoint.SaveOptimizer));
    }

    [Fact]
    public void TheOldTwoStageKeyNamesItsNewNameAtItsLine()
    {
        var path = _files.Write("old.yaml", """
            model: {keypoint_set: coco17}
            data: {sources: [{name: coco, format: coco, ann_file: a.json, img_dir: img}]}
            train:
              max_epochs: 30
              two_stage: {enabled: true}
            """);
        var e = Assert.Throws<ConfigException>(() => ExperimentConfig.Load(path));
        var error = Assert.Single(e.Errors);
        Assert.Equal("train.two_stage", error.Path);
        Assert.Equal(5, error.Location.Line);
        Assert.Contains("'self_distill'", error.Message);
    }

    [Theory]
    [InlineData("MaxEpochs", "max_epochs")]
    [InlineData("Stage2Pipeline", "stage2_pipeline")]
    [InlineData("KLDiscretLoss", "kl_discret_loss")]
    [InlineData("Sha256", "sha256")]
    [InlineData("SGD", "sgd")]
    [InlineData("SimccSplitRatio", "simcc_split_ratio")]
    [InlineData("S", "s")]
    [InlineData("UDPHeatmap", "udp_heatmap")]
    public void PascalCaseNamesBecomeSnakeCaseKeys(string name, string key) =>
        Assert.Equal(key, ConfigNames.ToSnakeCase(name));

    [Theory]
    [InlineData("lrr", "lr")]
    [InlineData("wieght", "weight")]
    [InlineData("LR", "lr")]
    [InlineData("max_epoch", "max_epochs")]
    [InlineData("xyz", null)]
    public void SuggestionsPickTheClosestKeyWithinTypoDistance(string input, string? expected) =>
        Assert.Equal(expected, Suggest(input, ["lr", "weight", "max_epochs", "eps"]));

    private static string? Suggest(string input, string[] keys)
    {
        var path = Path.Combine(Path.GetTempPath(), "distill-suggest-" + Guid.NewGuid().ToString("N") + ".yaml");
        File.WriteAllText(path, $"{input}: 1\n");
        try
        {
            var ex = Assert.Throws<ConfigException>(() => ConfigBinder.Bind<SuggestTarget>(ConfigLoader.Load(path)));
            var message = Assert.Single(ex.Errors).Message;
            const string marker = "did you mean '";
            var at = message.IndexOf(marker, StringComparison.Ordinal);
            return at < 0 ? null : message[(at + marker.Length)..message.IndexOf('\'', at + marker.Length)];
        }
        finally
        {
            File.Delete(path);
        }
    }

    private sealed class SuggestTarget
    {
        public double Lr { get; set; }

        public double Weight { get; set; }

        public int MaxEpochs { get; set; }

        public double Eps { get; set; }
    }
}
