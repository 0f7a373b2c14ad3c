using Distill.Pose.Datasets;
using Distill.Pose.Evaluation;
using Distill.Pose.Keypoints;
using Distill.TestSupport;
using Distill.Training.Config.Schema;
using Distill.Training.Evaluation;
using Distill.Training.Engine;

namespace Distill.Training.Tests.Evaluation;

public class PoseEvaluatorTests
{
    private static SourceData Coco()
    {
        var s = new DataSourceOptions
        {
            Name = "coco", Format = DataFormat.Coco, AnnFile = SharedData.Data("coco", "test_coco.json"), ImgDir = SharedData.Data("coco"),
            ValAnnFile = SharedData.Data("coco", "test_coco.json"), ValImgDir = SharedData.Data("coco"),
        };
        return SourceData.Load(s, train: false, val: true);
    }

    [Fact]
    public void GroundTruthAsPredictionScoresPerfectlyOnRealCocoAnnotations()
    {
        var src = Coco();
        var inst = Enumerable.Range(0, src.Val!.Count).Select(i => src.Val[i]).ToList();
        var kps = inst.Select(i => i.Keypoints.Select(v => (double)v).ToArray()).ToList();
        var scores = inst.Select(i => i.Visibility.Select(v => 1.0).ToArray()).ToList();
        var m = PoseEvaluator.Score(new SourcePredictions(src, inst, kps, scores));
        // Every annotated person found exactly: OKS 1 for each, so AP and AR are 1 (pycocotools would agree).
        Assert.Equal(1.0, m["AP"], 6);
        Assert.Equal(1.0, m["AR"], 6);
        Assert.Equal(1.0, m["PCK@0.1"], 6);
    }

    [Fact]
    public void DisplacedPredictionsLoseAccuracy()
    {
        var src = Coco();
        var inst = Enumerable.Range(0, src.Val!.Count).Select(i => src.Val[i]).ToList();
        // Shift every keypoint by half the box width: far beyond PCK@0.1 and OKS thresholds.
        var kps = inst.Select(i => i.Keypoints.Select((v, j) => j % 2 == 0 ? v + 0.5 * i.Bbox.Width : v).ToArray()).ToList();
        var scores = inst.Select(i => i.Visibility.Select(v => 1.0).ToArray()).ToList();
        var m = PoseEvaluator.Score(new SourcePredictions(src, inst, kps, scores));
        Assert.Equal(0.0, m["PCK@0.1"], 6);
        Assert.True(m["AP"] < 0.05, $"AP {m["AP"]}");
    }

    /// <summary>The real MPII sample (5 records), with a 40-pixel head box each since the file carries none.</summary>
    private static SourceData Mpii()
    {
        var s = new DataSourceOptions
        {
            Name = "mpii", Format = DataFormat.Mpii, AnnFile = SharedData.Data("mpii", "test_mpii.json"), ImgDir = SharedData.Data("mpii"),
            ValAnnFile = SharedData.Data("mpii", "test_mpii.json"), ValImgDir = SharedData.Data("mpii"),
        };
        var set = SourceData.DefaultSet(s);
        var val = MpiiDataset.Load(s.ValAnnFile, new MpiiLoadOptions
        {
            ImageRoot = s.ValImgDir, KeypointSet = set, SourceName = s.Name, HeadBoxes = Enumerable.Repeat(new BoundingBox(0, 0, 40, 40), 5).ToList(),
        });
        return new SourceData { Options = s, KeypointSet = set, Val = val };
    }

    /// <summary>Every instance's ground truth with each x moved right by <paramref name="boxFraction"/> of its box width.</summary>
    private static SourcePredictions Shifted(SourceData src, double boxFraction)
    {
        var inst = Enumerable.Range(0, src.Val!.Count).Select(i => src.Val[i]).ToList();
        var kps = inst.Select(i => i.Keypoints.Select((v, j) => j % 2 == 0 ? v + boxFraction * i.Bbox.Width : v).ToArray()).ToList();
        var scores = inst.Select(i => i.Visibility.Select(v => 1.0).ToArray()).ToList();
        return new SourcePredictions(src, inst, kps, scores);
    }

    [Fact]
    public void TheDefaultMetricsAreCocoStatsPckhAndPck()
    {
        var coco = PoseEvaluator.Score(Shifted(Coco(), 0.0));
        Assert.Equal(CocoKeypointStats.Names.Append("PCK@0.1").Order(), coco.Keys.Order());
        var mpii = PoseEvaluator.Score(Shifted(Mpii(), 0.0));
        Assert.Equal(["PCK@0.1", "PCKh", "PCKh@0.1"], mpii.Keys.Order());
        Assert.Equal(1.0, mpii["PCKh"], 6);
    }

    [Fact]
    public void ARestrictedMetricListComputesOnlyThoseMetrics()
    {
        var coco = Shifted(Coco(), 0.05);
        Assert.Equal(["PCK@0.1"], PoseEvaluator.Score(coco, [MetricFamily.Pck]).Keys);
        Assert.Equal(CocoKeypointStats.Names, PoseEvaluator.Score(coco, [MetricFamily.Coco]).Keys.ToList());
        // PCKh is for MPII-format sources: a COCO source gets nothing from it.
        Assert.Empty(PoseEvaluator.Score(coco, [MetricFamily.Pckh]));

        // EPE: every visible keypoint is off by 5% of its box width, so the mean error is that averaged over them.
        var epe = PoseEvaluator.Score(coco, [MetricFamily.Epe]);
        Assert.Equal(["EPE"], epe.Keys);
        var expected = coco.Instances.SelectMany(i => i.Visibility.Where(v => v > 0).Select(_ => 0.05 * i.Bbox.Width)).Average();
        Assert.Equal(expected, epe["EPE"], 4);

        var mpii = Shifted(Mpii(), 0.0);
        Assert.Equal(["PCKh", "PCKh@0.1"], PoseEvaluator.Score(mpii, [MetricFamily.Pckh]).Keys.Order());
        Assert.Empty(PoseEvaluator.Score(mpii, [MetricFamily.Coco]));
        var both = PoseEvaluator.Score(mpii, [MetricFamily.Pck, MetricFamily.Epe]);
        Assert.Equal(["EPE", "PCK@0.1"], both.Keys.Order());
        Assert.Equal(0.0, both["EPE"], 6);
    }

    [Fact]
    public void MeanPoseBaselineIsBetweenZeroAndOne()
    {
        var src = Coco();
        double pck = PoseEvaluator.MeanPoseBaseline(src.Val!, src.Val!);
        Assert.InRange(pck, 0.0, 0.9);
    }
}
