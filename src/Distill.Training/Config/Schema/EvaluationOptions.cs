using System.ComponentModel.DataAnnotations;
using Distill.Config;
using Distill.Pose.Evaluation;

namespace Distill.Training.Config.Schema;

public enum CompareRule
{
    [ConfigName("greater")]
    Greater,

    [ConfigName("less")]
    Less,
}

/// <summary>A kind of validation metric; each reports one or more values per validation split.</summary>
public enum MetricFamily
{
    /// <summary>COCO keypoint AP and AR (AP, AP .5, AP .75, AP (M), AP (L), AR, ...), on COCO-format sources.</summary>
    [ConfigName("coco")]
    Coco,

    /// <summary>PCKh at 0.5 and 0.1 of the head size (PCKh, PCKh@0.1), on MPII-format sources with head boxes.</summary>
    [ConfigName("pckh")]
    Pckh,

    /// <summary>PCK at 0.1 of the box size (PCK@0.1), on every source.</summary>
    [ConfigName("pck")]
    Pck,

    /// <summary>Mean end-point error of the visible keypoints in image pixels (EPE), on every source.</summary>
    [ConfigName("epe")]
    Epe,

    /// <summary>
    /// CrowdPose's AP/AR and its AP by crowd index (AP(E), AP(M), AP(H)), on COCO-format sources whose images carry
    /// crowdIndex; on such a source it takes the place of the coco family.
    /// </summary>
    [ConfigName("crowdpose")]
    CrowdPose,
}

/// <summary>The names under which each metric family reports (after the source's name: SOURCE/NAME).</summary>
public static class MetricNames
{
    public const string Pck = "PCK@0.1";
    public const string Pckh = "PCKh";
    public const string PckhAt01 = "PCKh@0.1";
    public const string Epe = "EPE";

    public static IReadOnlyList<string> Of(MetricFamily family) => family switch
    {
        MetricFamily.Coco => CocoKeypointStats.Names,
        MetricFamily.Pckh => [Pckh, PckhAt01],
        MetricFamily.Pck => [Pck],
        MetricFamily.CrowdPose => CrowdPoseStats.Names,
        _ => [Epe],
    };

    /// <summary>How <paramref name="family"/> is written in a configuration.</summary>
    public static string ConfigName(MetricFamily family) => ConfigNames.NameOf(typeof(MetricFamily).GetField(family.ToString())!);

    /// <summary>Whether <paramref name="family"/> is computed on sources of <paramref name="format"/>.</summary>
    public static bool AppliesTo(MetricFamily family, DataFormat format) => family switch
    {
        MetricFamily.Coco or MetricFamily.CrowdPose => format == DataFormat.Coco,
        MetricFamily.Pckh => format == DataFormat.Mpii,
        _ => true,
    };
}

/// <summary>Validation metrics and which one picks the best checkpoint.</summary>
public sealed class EvaluationOptions : IValidatable
{
    /// <summary>What validation computes by default: COCO AP/AR, PCKh and PCK@0.1, each where it applies.</summary>
    public static IReadOnlyList<MetricFamily> DefaultMetrics { get; } = [MetricFamily.Coco, MetricFamily.Pckh, MetricFamily.Pck];

    /// <summary>Metric families to compute, each on the sources it applies to; values are named SOURCE/NAME.</summary>
    [MinLength(1)]
    public List<MetricFamily> Metrics { get; set; } = [.. DefaultMetrics];

    public const string DefaultBestMetric = "coco/AP";

    /// <summary>The value that decides the best checkpoint, SOURCE/NAME (for example coco/AP: source coco, metric AP).</summary>
    public string BestMetric { get; set; } = DefaultBestMetric;

    /// <summary>Tells, in a message about <see cref="BestMetric"/>, that the value is the default one (the key may not be written).</summary>
    internal string BestMetricNote => BestMetric == DefaultBestMetric ? $" (best_metric defaults to {DefaultBestMetric}; set it to SOURCE/NAME)" : "";

    public CompareRule Rule { get; set; } = CompareRule.Greater;

    /// <summary>Flip test during validation; null follows model.test_cfg.flip_test.</summary>
    public bool? FlipTest { get; set; }

    /// <summary>
    /// MPII's validation ground truth (mpii_gt_val.mat) for the validation split of MPII-format sources, one person per
    /// record in file order (mmpose's mpii_val.json). PCKh then uses its head boxes and mmpose's rule: predictions
    /// + 1 px (MATLAB's 1-based frame), correct when distance / head size &lt; threshold. Null: head boxes from the
    /// annotation records, no offset, distance / head size &lt;= threshold.
    /// </summary>
    public string? MpiiGt { get; set; }

    /// <summary>The source part of <see cref="BestMetric"/>, or null when it is malformed.</summary>
    public string? BestMetricSource => SplitBest() is var (source, _) ? source : null;

    /// <summary>The metric part of <see cref="BestMetric"/>, or null when it is malformed.</summary>
    public string? BestMetricName => SplitBest() is var (_, name) ? name : null;

    private (string Source, string Name)? SplitBest()
    {
        var slash = BestMetric.IndexOf('/');
        return slash <= 0 || slash == BestMetric.Length - 1 ? null : (BestMetric[..slash], BestMetric[(slash + 1)..]);
    }

    public IEnumerable<ValidationMessage> Validate()
    {
        if (BestMetricName is not { } name)
            yield return ValidationMessage.For("best_metric", $"expected SOURCE/NAME (for example coco/AP), got '{BestMetric}'");
        else if (!Metrics.Any(f => MetricNames.Of(f).Contains(name)))
            yield return ValidationMessage.For("best_metric",
                $"'{name}' is not computed by the metrics chosen ({string.Join(", ", Metrics.Select(MetricNames.ConfigName))}), which report " +
                string.Join(", ", Metrics.SelectMany(MetricNames.Of).Distinct()) + BestMetricNote, "metrics");
    }
}
