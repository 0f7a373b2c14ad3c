using Distill.Pose.BottomUp.Evaluation;
using Distill.Pose.Models;
using Distill.Pose.Models.Checkpoints;
using Distill.TestSupport;
using Distill.Pose.Synthetic;
using Distill.Torch;
using Distill.Training.Config.Schema;
using Distill.Training.Distributed;
using Distill.Training.Evaluation;

namespace Distill.Training.Tests.Distributed;

/// <summary>Bottom-up validation split over two ranks (threads of this process, one Gloo group) against one process's.</summary>
[Collection(DataParallelCollection.Name)]
public sealed class ShardedBottomupEvaluationTests : IDisposable
{
    // 50 group scenes: 5 validation images, an odd count, so one shard carries padding that must be skipped.
    private readonly DataParallelRun _run = new(images: 50, scene: SynthScene.Group);

    [Fact]
    public void GatheredPosesAndMetricsEqualASingleProcessEvaluation()
    {
        var split = Split();
        Assert.Equal(5, split.Samples.Count);
        // The shipped demo bottom-up model: trained, so it finds people and the gathered lists are not empty.
        var options = Distill.Pose.Models.ModelConfig.Load(Path.Combine(SharedData.RepoRoot, "configs", "demo", "bottomup_teacher.yaml"));
        var models = Enumerable.Range(0, 3).Select(_ => ModelFactory.BuildBottomup(options).Model).ToList();
        foreach (var m in models) WeightsLoader.LoadInto(m, Path.Combine(SharedData.RepoRoot, "teachers", "demo-bottomup.safetensors"));
        foreach (var m in models) m.Eval();

        var expected = BottomupEvaluation.Predict(models[0], split.Samples, Edge, 2, Device.Cpu);
        var expectedMetrics = BottomupValidation.Evaluate(models[0], [split], Edge, 2, Device.Cpu);
        // Poses on every image, several on most.
        Assert.Equal(split.Samples.Select(s => s.ImageId).Order(), expected.Select(p => p.ImageId).Distinct().Order());

        var results = DataParallelRun.OnTwoRanks((rank, dist) => (
            Poses: ShardedBottomupEvaluation.Gather(dist, models[1 + rank], split, Edge, 2, Device.Cpu),
            Metrics: ShardedBottomupEvaluation.Evaluate(dist, models[1 + rank], [split], Edge, 2, Device.Cpu)));

        foreach (var (poses, metrics) in results)
        {
            // Same poses, image by image in the split's order, each image's poses in decoding order.
            Assert.Equal(expected.Count, poses.Count);
            for (int i = 0; i < expected.Count; i++)
            {
                Assert.Equal(expected[i].ImageId, poses[i].ImageId);
                Assert.Equal(expected[i].Score, poses[i].Score, 5);
                for (int j = 0; j < expected[i].Keypoints.Length; j++) Assert.Equal(expected[i].Keypoints[j], poses[i].Keypoints[j], 3);
            }
            Assert.Equal(expectedMetrics.Keys.Order(), metrics.Keys.Order());
            foreach (var (k, v) in expectedMetrics) Assert.Equal(v, metrics[k], 6);
        }
        foreach (var m in models) m.Dispose();
    }

    [Fact]
    public void AModelThatFindsNobodyGathersNothingOnEveryRank()
    {
        var split = Split();
        var options = Distill.Pose.Models.ModelConfig.Load(Path.Combine(SharedData.RepoRoot, "configs", "demo", "bottomup_teacher.yaml"));
        // Fresh weights: no confidence passes the decoder's thresholds, so every shard's list is empty.
        torch.ManualSeed(3);
        var models = Enumerable.Range(0, 2).Select(_ => ModelFactory.BuildBottomup(options).Model).ToList();
        foreach (var m in models) m.Eval();
        Assert.Empty(BottomupEvaluation.Predict(models[0], split.Samples, Edge, 2, Device.Cpu));
        var results = DataParallelRun.OnTwoRanks((rank, dist) => (
            Poses: ShardedBottomupEvaluation.Gather(dist, models[rank], split, Edge, 2, Device.Cpu),
            Metrics: ShardedBottomupEvaluation.Evaluate(dist, models[rank], [split], Edge, 2, Device.Cpu)));
        foreach (var (poses, metrics) in results)
        {
            Assert.Empty(poses);
            Assert.Equal(0.0, metrics["coco/AP"]);
        }
        foreach (var m in models) m.Dispose();
    }

    private const int Edge = 129;

    /// <summary>The synthetic validation split (5 group scenes).</summary>
    private BottomupValSplit Split()
    {
        var d = Path.Combine(_run.Dir, "data", "coco");
        return BottomupValidation.Load(new DataSourceOptions
        {
            Name = "coco", Format = DataFormat.Coco,
            AnnFile = Path.Combine(d, "annotations", "person_keypoints_val.json"), ImgDir = Path.Combine(d, "images", "val"),
            ValAnnFile = Path.Combine(d, "annotations", "person_keypoints_val.json"), ValImgDir = Path.Combine(d, "images", "val"),
        });
    }

    public void Dispose() => _run.Dispose();
}
