using Distill.Config;
using Distill.Training.Config;
using Distill.Training.Config.Schema;

namespace Distill.Training.Tests.Config;

/// <summary>
/// evaluation.metrics chooses metric families; evaluation.best_metric is SOURCE/NAME and must name a data source on
/// which a chosen family reports NAME, or the best checkpoint would silently never be saved.
/// </summary>
public sealed class EvaluationMetricsTests : IDisposable
{
    private readonly ConfigFiles _files = new();

    public void Dispose() => _files.Dispose();

    private string Write(string evaluation) => _files.Write("exp.yaml", $$"""
        model: {keypoint_set: unified21}
        data:
          sources:
            - {name: coco, format: coco, ann_file: c.json, img_dir: c}
            - {name: mpii, format: mpii, ann_file: m.json, img_dir: m}
        {{evaluation}}
        """);

    private static ConfigError SingleError(string path)
    {
        var ex = Assert.Throws<ConfigException>(() => ExperimentConfig.Load(path));
        return Assert.Single(ex.Errors);
    }

    [Fact]
    public void WithoutTheKeyEverythingComputedBeforeIsComputed()
    {
        var exp = ExperimentConfig.Load(Write(""));
        Assert.Equal([MetricFamily.Coco, MetricFamily.Pckh, MetricFamily.Pck], exp.Evaluation.Metrics);
        Assert.Equal(("coco", "AP"), (exp.Evaluation.BestMetricSource, exp.Evaluation.BestMetricName));
    }

    [Theory]
    [InlineData("[pck]", "mpii/PCK@0.1")]
    [InlineData("[epe, coco]", "coco/EPE")]
    [InlineData("[pckh]", "mpii/PCKh@0.1")]
    public void ABestMetricAChosenFamilyReportsOnItsSourceIsAccepted(string metrics, string best)
    {
        var exp = ExperimentConfig.Load(Write($"evaluation: {{metrics: {metrics}, best_metric: {best}, rule: less}}"));
        Assert.Equal(best, exp.Evaluation.BestMetric);
    }

    [Fact]
    public void AnUnknownFamilyIsNamed()
    {
        var error = SingleError(Write("evaluation: {metrics: [coco, mpii]}"));
        Assert.Equal("evaluation.metrics.1", error.Path);
        Assert.Contains("mpii", error.Message);
        Assert.Equal(6, error.Location.Line);
    }

    [Fact]
    public void ANameNoChosenFamilyReportsIsRefused()
    {
        var error = SingleError(Write("evaluation: {metrics: [pck], best_metric: coco/AR}"));
        Assert.Equal("evaluation.best_metric", error.Path);
        Assert.Equal("'AR' is not computed by the metrics chosen (pck), which report PCK@0.1", error.Message);
    }

    [Fact]
    public void ASourceThatDoesNotExistIsRefused()
    {
        var error = SingleError(Write("evaluation: {best_metric: val/AP}"));
        Assert.Equal("evaluation.best_metric", error.Path);
        Assert.Equal("'val/AP' names source 'val', but no data source has that name (sources: coco, mpii)", error.Message);
    }

    [Fact]
    public void AMetricItsSourceNeverGetsIsRefused()
    {
        var error = SingleError(Write("evaluation: {best_metric: mpii/AP}"));
        Assert.Equal("'AP' is not computed on source 'mpii' (mpii format); it gets PCKh, PCKh@0.1, PCK@0.1", error.Message);
    }

    [Fact]
    public void TheDefaultBestMetricIsCheckedTooAndSaysSo()
    {
        var path = _files.Write("other.yaml", """
            model: {keypoint_set: coco17}
            data:
              sources:
                - {name: train, format: coco, ann_file: c.json, img_dir: c}
            """);
        var error = SingleError(path);
        Assert.Equal("evaluation.best_metric", error.Path);
        Assert.Contains("no data source has that name (sources: train)", error.Message);
        Assert.Contains("best_metric defaults to coco/AP", error.Message);
    }
}
