using Distill.Pose.Datasets;
using Distill.Pose.Keypoints;
using Distill.TestSupport;
using Distill.Training.Config.Schema;
using Distill.Training.Engine;
using Distill.Training.Evaluation;
using Distill.Training.Logging;

namespace Distill.Training.Tests.Engine;

/// <summary>
/// Datasets beyond COCO and MPII's JSON: a student over COCO, MPII and AI Challenger in one unified set, the official
/// MPII release file as a source, and CrowdPose's crowd-index metric; all on synthetic data.
/// </summary>
[Collection(TrainerCollection.Name)]
public sealed class MoreDatasetsRunTests
{
    private const string UnifiedStudent =
        "{keypoint_set: unified_coco_mpii_aic, input_size: [48, 64], backbone: {type: CSPNeXt, deepen_factor: 0.167, widen_factor: 0.125}, " +
        "head: {type: RTMCCHead, gau: {hidden_dims: 32, s: 16}}, codec: {type: SimCCLabel, sigma: [1.5, 1.5], normalize: false}}";

    [Fact]
    public void AStudentOverCocoMpiiAndAicTrainsAndIsEvaluatedOnEachSource()
    {
        using var run = new TinyRun(seed: 31, images: 8, mpiiImages: 8, aicImages: 8);
        var config = run.Config("three", "{max_epochs: 2, val_interval: 2, log_interval: 1}", "ema: {enabled: false}",
            model: UnifiedStudent, sources: [run.CocoSource, run.MpiiSource, run.AicSource],
            evaluation: "{metrics: [coco, pckh, pck], best_metric: coco/AP}");
        var result = run.Train(config);
        Assert.True(result.Completed);

        var records = MetricsLog.Read(Path.Combine(result.WorkDir, MetricsLog.FileName));
        var steps = records.Where(r => r.Metrics.ContainsKey("train/loss")).ToList();
        Assert.NotEmpty(steps);
        Assert.All(steps, r => Assert.True(double.IsFinite(r.Metrics["train/loss"]) && r.Metrics["train/loss"] > 0));
        // 7 training images a source, 1-3 figures each, batches of 4 drawn from all three: at least 2 x 21 / 4 steps.
        Assert.True(steps.Count >= 10, $"{steps.Count} steps");

        // Each source is scored in its own keypoint set: COCO AP on coco17, PCKh on mpii16, and AIC's annotations
        // (COCO layout) with AIC's sigmas; PCK everywhere.
        foreach (var key in new[] { "coco/AP", "coco/PCK@0.1", "mpii/PCKh", "mpii/PCK@0.1", "aic/AP", "aic/PCK@0.1" })
        {
            Assert.True(result.LastMetrics.TryGetValue(key, out var v), $"{key} missing: {string.Join(", ", result.LastMetrics.Keys)}");
            Assert.True(double.IsFinite(v) && v is >= 0 and <= 1, $"{key} = {v}");
        }
    }

    [Fact]
    public void AicAndCrowdPoseJointsMapByNameIntoTheUnifiedSets()
    {
        var unified = KeypointSet.FromName("unified_coco_mpii_aic");
        var aic = KeypointMapping.Between(KeypointSet.FromName("aic14"), unified);
        // AIC order: r_shoulder r_elbow r_wrist l_shoulder l_elbow l_wrist r_hip r_knee r_ankle l_hip l_knee l_ankle head_top neck.
        Assert.Equal([6, 8, 10, 5, 7, 9, 12, 14, 16, 11, 13, 15, 20, 19], aic.TargetIndexOfSource);
        var crowd = KeypointMapping.Between(KeypointSet.FromName("crowdpose14"), KeypointSet.FromName("unified21"));
        Assert.Equal([5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 20, 19], crowd.TargetIndexOfSource);
        // Same names as MPII's upper_neck and head_top, so MPII and AIC supervise the same two outputs.
        var mpii = KeypointMapping.Between(KeypointSet.FromName("mpii16"), unified);
        Assert.Equal((19, 20), (mpii.TargetIndexOfSource[8], mpii.TargetIndexOfSource[9]));
    }

    [ScipyFact]
    public void AnMpiiSourceOnTheOfficialReleaseFileTrainsAndEvaluatesWithoutConversion()
    {
        using var run = new TinyRun(seed: 32, images: 0, mpiiImages: 10);
        string ann = Path.Combine(run.DataDir, "mpii", "annotations");
        MpiiReleaseFiles.FromJson(Path.Combine(ann, "mpii_train.json"), Path.Combine(ann, "train.mat"));
        MpiiReleaseFiles.FromJson(Path.Combine(ann, "mpii_val.json"), Path.Combine(ann, "val.mat"));
        string source = $"{{name: mpii, format: mpii, ann_file: {ann}/train.mat, img_dir: {run.DataDir}/mpii/images, val_ann_file: {ann}/val.mat}}";

        // The release reads to the same people as the JSON it was made from.
        var options = new DataSourceOptions
        {
            Name = "mpii", Format = DataFormat.Mpii, AnnFile = Path.Combine(ann, "train.mat"), ImgDir = Path.Combine(run.DataDir, "mpii", "images"),
        };
        var fromMat = SourceData.Load(options, train: true, val: false).Train!;
        var fromJson = SourceData.Load(new DataSourceOptions
        {
            Name = "mpii", Format = DataFormat.Mpii, AnnFile = Path.Combine(ann, "mpii_train.json"), ImgDir = options.ImgDir,
        }, train: true, val: false).Train!;
        Assert.Equal(fromJson.Count, fromMat.Count);
        for (int i = 0; i < fromJson.Count; i++)
        {
            Assert.Equal(fromJson[i].ImagePath, fromMat[i].ImagePath);
            Assert.Equal(fromJson[i].Visibility, fromMat[i].Visibility);
            Assert.Equal(fromJson[i].Bbox, fromMat[i].Bbox);
            Assert.Equal(fromJson[i].HeadBox, fromMat[i].HeadBox);
            for (int c = 0; c < fromJson[i].Keypoints.Length; c++)
                if (fromJson[i].Visibility[c / 2] > 0) Assert.Equal(fromJson[i].Keypoints[c], fromMat[i].Keypoints[c]);
        }

        var config = run.Config("release", "{max_epochs: 1, val_interval: 1, log_interval: 1}", "ema: {enabled: false}",
            model: TinyRun.Student.Replace("coco17", "mpii16"), sources: [source], evaluation: "{metrics: [pckh, pck], best_metric: mpii/PCKh}");
        var result = run.Train(config);
        Assert.True(result.Completed);
        Assert.True(result.LastMetrics.TryGetValue("mpii/PCKh", out var pckh) && double.IsFinite(pckh), "PCKh missing or not finite");
    }

    [Fact]
    public void CrowdPoseSourcesReportTheCrowdIndexBreakdown()
    {
        using var run = new TinyRun(seed: 33, images: 0, crowdPoseImages: 12);
        var s = new DataSourceOptions
        {
            Name = "crowdpose", Format = DataFormat.Coco, KeypointSet = "crowdpose14",
            AnnFile = Path.Combine(run.DataDir, "crowdpose", "annotations", "crowdpose_val.json"),
            ImgDir = Path.Combine(run.DataDir, "crowdpose", "images"),
            ValAnnFile = Path.Combine(run.DataDir, "crowdpose", "annotations", "crowdpose_val.json"),
        };
        var src = SourceData.Load(s, train: false, val: true);
        var val = (CocoKeypointDataset)src.Val!;
        Assert.All(val.Images, i => Assert.NotNull(i.CrowdIndex));

        var inst = Enumerable.Range(0, val.Count).Select(i => val[i]).ToList();
        var kps = inst.Select(i => i.Keypoints.Select(v => (double)v).ToArray()).ToList();
        var scores = inst.Select(i => i.Visibility.Select(_ => 1.0).ToArray()).ToList();
        var m = PoseEvaluator.Score(new SourcePredictions(src, inst, kps, scores), [MetricFamily.CrowdPose, MetricFamily.Coco]);
        // The ground truth as prediction: AP and AR 1, and each crowd part that has images scores 1 (-1 when empty).
        Assert.Equal(1.0, m["AP"], 6);
        Assert.Equal(1.0, m["AR .5"], 6);
        Assert.Equal(CrowdPoseStats(), m.Keys.Where(k => k.StartsWith("A", StringComparison.Ordinal)).Order());
        foreach (var (key, lo, hi) in new[] { ("AP(E)", 0.0, 0.2), ("AP(M)", 0.2, 0.8), ("AP(H)", 0.8, double.MaxValue) })
        {
            bool any = val.Images.Any(i => i.CrowdIndex >= lo && i.CrowdIndex < hi);
            Assert.Equal(any ? 1.0 : -1.0, m[key], 6);
        }
    }

    private static IEnumerable<string> CrowdPoseStats() => Distill.Pose.Evaluation.CrowdPoseStats.Names.Order();
}
