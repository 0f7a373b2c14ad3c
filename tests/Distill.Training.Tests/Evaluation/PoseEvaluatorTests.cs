using Distill.Pose.Datasets;
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

    [Fact]
    public void MeanPoseBaselineIsBetweenZeroAndOne()
    {
        var src = Coco();
        double pck = PoseEvaluator.MeanPoseBaseline(src.Val!, src.Val!);
        Assert.InRange(pck, 0.0, 0.9);
    }
}
