using Distill.TestSupport;
using Distill.Torch;
using Distill.Torch.Serialization;
using Distill.Training.Config;
using Distill.Training.Config.Schema;
using Distill.Training.Engine;
using Distill.Training.Logging;

namespace Distill.Training.Tests.Engine;

/// <summary>
/// configs/baselines/vit-b_regression_mpii.yaml as shipped (ViT from Hugging Face weights, regression head, MSE, Adam
/// with warm-up and cosine), and a small variant of it, inheriting everything but the sizes, trained on synthetic MPII.
/// </summary>
[Collection(TrainerCollection.Name)]
public sealed class VitRegressionBaselineTests
{
    private static string Shipped => Path.Combine(SharedData.RepoRoot, "configs", "baselines", "vit-b_regression_mpii.yaml");

    [Fact]
    public void ShippedConfigIsTheBaselineRecipe()
    {
        var o = ExperimentConfig.Load(Shipped);
        Assert.Equal(OptimizerType.Adam, o.Optimizer.Type);
        Assert.Equal(LrScheduleType.Cosine, o.Schedule.Type);
        Assert.True(o.Schedule.WarmupIters > 0);
        Assert.Equal(Distill.Pose.Models.Options.BackboneType.VisionTransformer, o.Model.Backbone.Type);
        Assert.Equal("base", o.Model.Backbone.Arch);
        Assert.EndsWith("vit-base-patch16-224-in21k.safetensors", o.Model.BackboneCheckpoint);
        Assert.Equal(Distill.Pose.Models.Options.HeadType.RegressionHead, o.Model.Head.Type);
        Assert.Equal(Distill.Pose.Models.Options.CodecType.RegressionLabel, o.Model.Codec.Type);
        Assert.Equal(Distill.Pose.Models.Options.GtLossType.RegressionMSE, o.Losses.Gt.Type);
        Assert.Equal("mpii/PCKh", o.Evaluation.BestMetric);
    }

    private const int Dims = 32, Layers = 2, Ffn = 64;

    /// <summary>
    /// A Hugging Face ViTModel state dict (embed 32, 2 layers, patch 16, pre-trained at 224 x 224: a 14 x 14 grid plus
    /// the cls slot), random values from a fixed seed.
    /// </summary>
    private static Dictionary<string, Tensor> HuggingFaceVit()
    {
        using var g = new Generator(11);
        var d = new Dictionary<string, Tensor>();
        void Add(string name, params long[] shape)
        {
            using var r = torch.Randn(shape, g);
            d[name] = name.Contains("layernorm", StringComparison.Ordinal) && name.EndsWith(".weight", StringComparison.Ordinal) ? r * 0.1 + 1 : r * 0.05;
        }
        Add("embeddings.cls_token", 1, 1, Dims);
        Add("embeddings.position_embeddings", 1, 197, Dims);
        Add("embeddings.patch_embeddings.projection.weight", Dims, 3, 16, 16);
        Add("embeddings.patch_embeddings.projection.bias", Dims);
        for (int i = 0; i < Layers; i++)
        {
            var l = $"encoder.layer.{i}.";
            foreach (var part in new[] { "query", "key", "value" })
            {
                Add($"{l}attention.attention.{part}.weight", Dims, Dims);
                Add($"{l}attention.attention.{part}.bias", Dims);
            }
            Add(l + "attention.output.dense.weight", Dims, Dims);
            Add(l + "attention.output.dense.bias", Dims);
            Add(l + "intermediate.dense.weight", Ffn, Dims);
            Add(l + "intermediate.dense.bias", Ffn);
            Add(l + "output.dense.weight", Dims, Ffn);
            Add(l + "output.dense.bias", Dims);
            foreach (var ln in new[] { "layernorm_before", "layernorm_after" })
            {
                Add($"{l}{ln}.weight", Dims);
                Add($"{l}{ln}.bias", Dims);
            }
        }
        Add("layernorm.weight", Dims);
        Add("layernorm.bias", Dims);
        return d;
    }

    private sealed class Recorder : ITrainingProgress
    {
        public List<StepProgress> Reports { get; } = [];
        public List<ValidationProgress> Validation { get; } = [];
        public bool ShowsSteps => true;
        public void Report(StepProgress progress) => Reports.Add(progress);
        public void ReportValidation(ValidationProgress progress) => Validation.Add(progress);
    }

    [Theory]
    [InlineData("RegressionMSE")]
    [InlineData("RLELoss")]
    public void SmallVariantTrainsOnSyntheticMpiiWithFallingLossAndPckh(string loss)
    {
        using var run = new TinyRun(seed: 21, images: 0, mpiiImages: 12);
        var hf = Path.Combine(run.Dir, "hf-vit.safetensors");
        var weights = HuggingFaceVit();
        SafeTensors.Save(hf, weights);
        foreach (var t in weights.Values) t.Dispose();

        // Everything but the sizes, the data and the length comes from the shipped file.
        var config = Path.Combine(run.Dir, "small.yaml");
        File.WriteAllText(config, $$"""
            _base_: {{Shipped.Replace('\\', '/')}}
            name: small
            work_dir: {{run.Dir.Replace('\\', '/')}}/small
            threads: 2
            model:
              input_size: [64, 64]
              backbone_checkpoint: {{hf.Replace('\\', '/')}}
              backbone: {arch: custom, embed_dims: {{Dims}}, num_layers: {{Layers}}, num_heads: 2, feedforward_channels: {{Ffn}}, drop_path_rate: 0.0}
              test_cfg: {flip_test: false}
            losses:
              gt: {type: {{loss}}}
            data:
              sources:
                - {{run.MpiiSource}}
              batch_size: 4
              val_batch_size: 8
              num_workers: 1
            optimizer: {lr: 1.0e-3}
            schedule: {warmup_iters: 2}
            train: {max_epochs: 4, val_interval: 4, log_interval: 1}
            """);
        // The small variant keeps the recipe: Adam with warm-up and cosine, Hugging Face backbone weights, regression head.
        var o = ExperimentConfig.Load(config);
        Assert.Equal((OptimizerType.Adam, LrScheduleType.Cosine), (o.Optimizer.Type, o.Schedule.Type));
        Assert.Equal(Distill.Pose.Models.Options.HeadType.RegressionHead, o.Model.Head.Type);
        var sink = new Recorder();
        TrainingResult result;
        using (var trainer = run.Trainer(config, progress: sink))
        {
            result = trainer.Run(CancellationToken.None);
        }
        Assert.True(result.Completed);
        var records = MetricsLog.Read(Path.Combine(result.WorkDir, MetricsLog.FileName));

        // Epoch mean losses fall: the last below the first by a clear margin.
        var losses = Enumerable.Range(1, 4).Select(e => records.Single(r => r.Epoch == e && r.Metrics.ContainsKey("epoch/loss_kpt")).Metrics["epoch/loss_kpt"]).ToList();
        var shown = string.Join(", ", losses);
        Assert.All(losses, l => Assert.True(double.IsFinite(l), $"epoch mean losses {shown}"));
        Assert.True(losses[^1] < losses[0] - 0.1 * Math.Abs(losses[0]), $"loss did not fall: epoch mean losses {shown}");

        // Validation computed PCKh.
        var val = records.Single(r => r.Metrics.ContainsKey("val/mpii/PCKh")).Metrics;
        Assert.InRange(val["val/mpii/PCKh"], 0, 1);
        Assert.True(result.LastMetrics.ContainsKey("mpii/PCKh"));

        // The progress display heard every step with its loss, and validation batch by batch up to the whole split.
        Assert.NotEmpty(sink.Reports);
        Assert.All(sink.Reports, r => Assert.Contains("loss_kpt", r.Values.Keys));
        Assert.Equal(4, sink.Reports[^1].Epoch);
        Assert.Equal(sink.Reports[^1].Steps, sink.Reports[^1].Step);
        Assert.NotEmpty(sink.Validation);
        Assert.All(sink.Validation, v => Assert.Equal((4, "mpii"), (v.Epoch, v.Source)));
        Assert.True(sink.Validation.Select(v => v.Done).SequenceEqual(sink.Validation.Select(v => v.Done).Order()), "validation progress went backwards");
        Assert.Equal(sink.Validation[^1].Total, sink.Validation[^1].Done);
        Assert.True(sink.Validation[^1].Total > 0);
    }
}
