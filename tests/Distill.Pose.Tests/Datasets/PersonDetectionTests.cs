using Distill.Pose.Datasets;
using Distill.TestSupport;

namespace Distill.Pose.Tests.Datasets;

public class PersonDetectionTests
{
    private static string DetPath => SharedData.Data("coco", "test_coco_det_AP_H_56.json");

    [Fact]
    public void ReadsEveryDetectionOfTheRealFile()
    {
        // Counted with Python's json module: 118 entries, all category 1; per image 785: 22, 40083: 26,
        // 196141: 33, 197388: 37. The first entry has score 0.9999731779098511.
        var dets = PersonDetectionReader.Read(DetPath);
        Assert.Equal(118, dets.Detections.Count);
        Assert.Equal(118, dets.Report.Loaded);
        var first = dets.Detections[0];
        Assert.Equal(785, first.ImageId);
        Assert.Equal(0.9999731779098511f, first.Score);
        Assert.Equal(new BoundingBox(277.1183158543966f, 45.699667786163765f, 225.09126579259754f, 333.5602652943344f), first.Bbox);
        Assert.Equal(22, dets.Detections.Count(d => d.ImageId == 785));
    }

    [Fact]
    public void ScoreThresholdDropsLowScores()
    {
        // 18 entries score >= 0.5 (Python count over the file).
        var dets = PersonDetectionReader.Read(DetPath, scoreThreshold: 0.5f);
        Assert.Equal(18, dets.Detections.Count);
        Assert.Equal(100, dets.Report.Skipped(SkipReason.BelowScoreThreshold));
        Assert.All(dets.Detections, d => Assert.True(d.Score >= 0.5f));
    }

    [Fact]
    public void UnknownImagesAreReportedPerId()
    {
        var dets = PersonDetectionReader.Read(DetPath, knownImageIds: new HashSet<long> { 785 });
        Assert.Equal(22, dets.Detections.Count);
        Assert.Equal(new Dictionary<long, int> { [40083] = 26, [196141] = 33, [197388] = 37 }, dets.Report.UnknownImageIds);
        Assert.Equal(96, dets.Report.Skipped(SkipReason.UnknownImage));
    }

    [Fact]
    public void CocoDatasetWithDetectionsUsesDetectedBoxes()
    {
        var ds = CocoKeypointDataset.Load(CocoJson.RealPath, new CocoLoadOptions { DetectionsPath = DetPath, DetectionScoreThreshold = 0.5f });
        Assert.Equal(18, ds.Count);
        Assert.Equal(14, ds.GroundTruth.Count);
        Assert.All(ds, i => Assert.Equal(0f, i.KeypointWeights.Sum()));
        Assert.Equal(SharedData.Data("coco", "000000000785.jpg"), ds.First(i => i.ImageId == 785).ImagePath);
        Assert.Equal(100, ds.DetectionReport!.Skipped(SkipReason.BelowScoreThreshold));
    }

    [Fact]
    public void MalformedDetectionNamesTheEntry()
    {
        using var tmp = new TempFiles();
        string path = tmp.Write("dets.json",
            "[{\"image_id\": 785, \"bbox\": [1, 2, 3, 4], \"score\": 0.9, \"category_id\": 1},\n" +
            " {\"image_id\": 785, \"bbox\": [1, 2, 3], \"score\": 0.9, \"category_id\": 1},\n" +
            " {\"image_id\": 785, \"bbox\": [1, 2, 3, 4], \"score\": NaN, \"category_id\": 1},\n" +
            " {\"image_id\": 785, \"bbox\": [1, 2, 3, 4], \"score\": 0.9, \"category_id\": 2}]");
        var e = Assert.Throws<DatasetException>(() => PersonDetectionReader.Read(path));
        Assert.Equal($"{path}: detections[1] (image_id 785): 'bbox': expected 4 numbers, found 3", e.Message);

        var lenient = PersonDetectionReader.Read(path, skipBad: true);
        Assert.Single(lenient.Detections);
        Assert.Equal(1, lenient.Report.Skipped(SkipReason.BadRecord));
        Assert.Equal(1, lenient.Report.Skipped(SkipReason.NonFinite));
        Assert.Equal(1, lenient.Report.Skipped(SkipReason.OtherCategory));
    }
}
