using System.ComponentModel.DataAnnotations;
using Distill.Config;

namespace Distill.Training.Config.Schema;

public enum CompareRule
{
    [ConfigName("greater")]
    Greater,

    [ConfigName("less")]
    Less,
}

/// <summary>Validation metrics and which one picks the best checkpoint.</summary>
public sealed class EvaluationOptions : IValidatable
{
    /// <summary>Metric families to compute (for example coco, pckh); each reports values named family/NAME.</summary>
    [MinLength(1)]
    public List<string> Metrics { get; set; } = ["coco"];

    /// <summary>The value that decides the best checkpoint, family/NAME (for example coco/AP).</summary>
    public string BestMetric { get; set; } = "coco/AP";

    public CompareRule Rule { get; set; } = CompareRule.Greater;

    /// <summary>Flip test during validation; null follows model.test_cfg.flip_test.</summary>
    public bool? FlipTest { get; set; }

    public IEnumerable<ValidationMessage> Validate()
    {
        var slash = BestMetric.IndexOf('/');
        if (slash <= 0 || slash == BestMetric.Length - 1)
            yield return ValidationMessage.For("best_metric", $"expected family/NAME (for example coco/AP), got '{BestMetric}'");
        else if (!Metrics.Contains(BestMetric[..slash]))
            yield return ValidationMessage.For("best_metric",
                $"'{BestMetric[..slash]}' is not among the metrics computed ({string.Join(", ", Metrics)})", "metrics");
    }
}
