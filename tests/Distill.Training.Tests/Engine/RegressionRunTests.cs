using Distill.Training.Logging;

namespace Distill.Training.Tests.Engine;

/// <summary>A direct-regression student (RegressionHead, RegressionLabel codec, masked MSE) trained end to end.</summary>
[Collection(TrainerCollection.Name)]
public sealed class RegressionRunTests
{
    [Fact]
    public void RegressionStudentLearnsAndIsEvaluatedWithPckh()
    {
        using var run = new TinyRun(seed: 14, images: 0, mpiiImages: 12);
        var config = run.Config("reg", "{max_epochs: 3, val_interval: 3, log_interval: 1}", """
            ema: {enabled: false}
            losses: {gt: {type: RegressionMSE}}
            """,
            model: "{keypoint_set: mpii16, input_size: [48, 64], backbone: {type: CSPNeXt, deepen_factor: 0.167, widen_factor: 0.125}, " +
                   "head: {type: RegressionHead}, codec: {type: RegressionLabel}}",
            sources: [run.MpiiSource], evaluation: "{metrics: [pckh, pck], best_metric: mpii/PCKh}");
        var result = run.Train(config);
        Assert.True(result.Completed);
        var records = MetricsLog.Read(Path.Combine(result.WorkDir, MetricsLog.FileName));

        // Normalised coordinates start far off (an untrained linear layer) and moving towards the mean pose alone removes
        // much of the error: every epoch's mean loss is below the one before, the last well below the first.
        double Epoch(int e) => records.Single(r => r.Epoch == e && r.Metrics.ContainsKey("epoch/loss_kpt")).Metrics["epoch/loss_kpt"];
        var losses = Enumerable.Range(1, 3).Select(Epoch).ToList();
        var shown = string.Join(", ", losses);
        Assert.All(losses, l => Assert.True(double.IsFinite(l) && l > 0, $"epoch mean losses {shown}"));
        for (int e = 1; e < losses.Count; e++) Assert.True(losses[e] < losses[e - 1], $"regression loss rose: epoch mean losses {shown}");
        Assert.True(losses[^1] < 0.75 * losses[0], $"regression loss barely fell: epoch mean losses {shown}");

        // Validation (at the last epoch) reports PCKh (MPII's head-normalised PCK) and the box-normalised PCK.
        foreach (int epoch in new[] { 3 })
        {
            var val = records.Single(r => r.Epoch == epoch && r.Metrics.ContainsKey("val/mpii/PCKh")).Metrics;
            foreach (var key in new[] { "val/mpii/PCKh", "val/mpii/PCKh@0.1", "val/mpii/PCK@0.1" })
            {
                Assert.True(val.TryGetValue(key, out var v), $"{key} missing at epoch {epoch}");
                Assert.True(double.IsFinite(v) && v is >= 0 and <= 1, $"{key} = {v} at epoch {epoch}");
            }
        }
        Assert.True(result.LastMetrics.ContainsKey("mpii/PCKh"));
    }
}
