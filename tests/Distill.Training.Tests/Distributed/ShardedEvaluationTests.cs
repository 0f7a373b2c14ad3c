using Distill.Pose.Models;
using Distill.Torch;
using Distill.Training.Config;
using Distill.Training.Distributed;
using Distill.Training.Engine;
using Distill.Training.Evaluation;

namespace Distill.Training.Tests.Distributed;

/// <summary>Validation split over two ranks (threads of this process, one Gloo group) against one process's.</summary>
[Collection(DataParallelCollection.Name)]
public sealed class ShardedEvaluationTests : IDisposable
{
    // 30 images: 3 validation instances, an odd count, so one shard carries padding that must be dropped.
    private readonly DataParallelRun _run = new(images: 30);

    [Fact]
    public void Gathered_predictions_and_metrics_equal_a_single_process_evaluation()
    {
        var o = ExperimentConfig.Load(_run.Config("eval"), [], out _);
        var source = SourceData.Load(o.Data.Sources[0], train: false, val: true);
        Assert.Equal(3, source.Val!.Count);
        var (model, set) = ModelFactory.Build(o.Model, o.Losses.Gt);
        using var _m = model;
        // Each rank gets its own copy of the same weights.
        var copies = Enumerable.Range(0, 2).Select(_ => ModelFactory.Build(o.Model, o.Losses.Gt).Model).ToList();
        foreach (var c in copies) c.LoadStateDict(model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value));

        var expected = PoseEvaluator.Predict(model, set, source, Device.Cpu, 2, flipTest: true, workers: 1);
        var expectedMetrics = PoseEvaluator.Evaluate(model, set, [source], Device.Cpu, 2, flipTest: true, workers: 1);

        var results = DataParallelRun.OnTwoRanks((rank, dist) => (
            Preds: ShardedEvaluation.Gather(dist, copies[rank], set, source, Device.Cpu, 2, true, 1),
            Metrics: ShardedEvaluation.Evaluate(dist, copies[rank], set, [source], Device.Cpu, 2, true, 1)));

        // The instances differ (their boxes place the crops), so a wrong interleave could not go unnoticed.
        Assert.NotEqual(expected.Keypoints[0], expected.Keypoints[1]);
        foreach (var (preds, metrics) in results)
        {
            Assert.Equal(3, preds.Keypoints.Count);
            for (int i = 0; i < 3; i++)
            {
                Assert.Equal(expected.Instances[i].InstanceId, preds.Instances[i].InstanceId);
                for (int j = 0; j < expected.Keypoints[i].Length; j++) Assert.Equal(expected.Keypoints[i][j], preds.Keypoints[i][j], 3);
                for (int j = 0; j < expected.Scores[i].Length; j++) Assert.Equal(expected.Scores[i][j], preds.Scores[i][j], 5);
            }
            Assert.Equal(expectedMetrics.Keys.Order(), metrics.Keys.Order());
            foreach (var (k, v) in expectedMetrics) Assert.Equal(v, metrics[k], 9);
        }
        foreach (var c in copies) c.Dispose();
    }

    public void Dispose() => _run.Dispose();
}
