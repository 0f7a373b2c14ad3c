using Distill.Pose.Evaluation;
using Distill.TestSupport;

namespace Distill.Pose.Tests.Evaluation;

/// <summary>
/// Reference numbers come from pycocotools (cocodataset/cocoapi at commit 8c9bcc3cf640524c4c20a9c40e89cb6a2f2fa0e9,
/// PythonAPI built with cython3 0.29.32, numpy 1.24.2, Python 3.11), COCOeval(iouType='keypoints') with
/// <c>params.kpt_oks_sigmas</c> set to the sigmas used here. The inputs are the JSON files in Data/, written by
/// Data/make_coco_reference.py, which also printed these stats.
/// </summary>
public class CocoKeypointEvaluatorTests
{
    private const double Tolerance = 1e-4;

    private static void AssertStats(double[] expected, CocoKeypointStats actual)
    {
        var values = actual.ToArray();
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - values[i]) <= Tolerance,
                $"{CocoKeypointStats.Names[i]}: expected {expected[i]:R}, got {values[i]:R}");
    }

    [Fact]
    public void SmallDesignedCaseMatchesPycocotools()
    {
        // 7 images: duplicates with tied scores (poor one first), a crowd region absorbing two detections, a small
        // person, a person with no labelled keypoint (its detection is matched by box distance and ignored),
        // partially labelled people, false positives with large and small extents, an image with no people, a missed
        // person, and an image with 21 detections where the only good one is past the 20 kept.
        var gt = CocoKeypointGroundTruth.Load(EvaluationData.Path("coco_small_gt.json"));
        var results = CocoKeypointResults.Load(EvaluationData.Path("coco_small_results.json"));
        var stats = new CocoKeypointEvaluator(EvaluationData.CocoSigmas).Evaluate(gt, results);
        AssertStats([0.1931133113311331, 0.39801980198019804, 0.21672167216721677, 0.36633663366336633,
            0.20752475247524751, 0.4, 0.6666666666666666, 0.4444444444444444, 0.36000000000000004,
            0.39999999999999997], stats);
    }

    [Fact]
    public void CustomSigmasMatchPycocotools()
    {
        // Four keypoints with sigmas (0.05, 0.07, 0.1, 0.03); includes a regular person whose keypoints are all
        // unlabelled (box-distance OKS decides) and an annotation with id 0, which COCOeval never counts as matched.
        var gt = CocoKeypointGroundTruth.Load(EvaluationData.Path("coco_custom_sigma_gt.json"));
        var results = CocoKeypointResults.Load(EvaluationData.Path("coco_custom_sigma_results.json"));
        var stats = new CocoKeypointEvaluator([0.05, 0.07, 0.1, 0.03]).Evaluate(gt, results);
        AssertStats([0.4013059877416313, 0.844884488448845, 0.28217821782178215, 0.19900990099009902,
            0.5116690240452616, 0.5111111111111111, 0.8888888888888888, 0.4444444444444444, 0.2,
            0.6666666666666666], stats);
    }

    public static TheoryData<string, double[]> TestCocoCases => new()
    {
        // Results: every annotation of test_coco.json (including the two with no keypoints) with its keypoints
        // moved by Gaussian noise of (factor x U(0.3, 1.7)) x sqrt(area) x sigma, scores rounded to 0.1, plus a
        // copy shifted 25 px right per image at score 0.5.
        { "test_coco_noise05_results.json", [0.8119047619047619, 0.9252710985384257, 0.9252710985384257,
            0.8874587458745874, 0.8669475876159044, 0.925, 1.0, 1.0, 0.9, 0.9428571428571428] },
        { "test_coco_noise15_results.json", [0.19214492877859213, 0.5770827082708271, 0.03987898789878988,
            0.2212871287128713, 0.22688811738316686, 0.36666666666666664, 0.8333333333333334,
            0.16666666666666666, 0.32, 0.4] },
        { "test_coco_noise30_results.json", [0.01839383938393839, 0.11980198019801978, 0.008910891089108912,
            0.06237623762376236, 0.026182618261826184, 0.08333333333333333, 0.25, 0.08333333333333333,
            0.06000000000000001, 0.09999999999999999] },
    };

    [Theory]
    [MemberData(nameof(TestCocoCases))]
    public void PerturbedRealAnnotationsMatchPycocotools(string resultsFile, double[] expected)
    {
        var gt = CocoKeypointGroundTruth.Load(SharedData.Data("coco", "test_coco.json"));
        var results = CocoKeypointResults.Load(EvaluationData.Path(resultsFile));
        var stats = new CocoKeypointEvaluator(EvaluationData.CocoSigmas).Evaluate(gt, results);
        AssertStats(expected, stats);
    }

    [Fact]
    public void GroundTruthAsResultsScoresOneWhereDefined()
    {
        // Each labelled person predicted exactly: every OKS is 1, so AP and AR are 1 in every range that has people.
        var gt = CocoKeypointGroundTruth.Load(SharedData.Data("coco", "test_coco.json"));
        var results = gt.Annotations.Where(a => a.NumKeypoints > 0)
            .Select(a => new CocoKeypointResult(a.ImageId, a.Keypoints, 1.0)).ToList();
        var stats = new CocoKeypointEvaluator(EvaluationData.CocoSigmas).Evaluate(gt, results);
        Assert.All(stats.ToArray(), v => Assert.Equal(1.0, v, 12));
    }

    [Fact]
    public void NoGroundTruthInRangeGivesMinusOne()
    {
        // One medium person (area 2000): the large range has no regular person, so APl and ARl are -1.
        var kps = new double[] { 10, 10, 2, 20, 20, 2 };
        var gt = new CocoKeypointGroundTruth([1], [new CocoKeypointAnnotation(1, 5, kps, 2000, [0, 0, 40, 50], false, 2)]);
        var stats = new CocoKeypointEvaluator([0.05, 0.05]).Evaluate(gt, [new CocoKeypointResult(1, kps, 0.9)]);
        Assert.Equal(1.0, stats.AP, 12);
        Assert.Equal(1.0, stats.APMedium, 12);
        Assert.Equal(-1.0, stats.APLarge);
        Assert.Equal(-1.0, stats.ARLarge);
    }

    [Fact]
    public void RejectsResultsForUnknownImagesAndWrongKeypointCounts()
    {
        var kps = new double[] { 10, 10, 2, 20, 20, 2 };
        var gt = new CocoKeypointGroundTruth([1], [new CocoKeypointAnnotation(1, 5, kps, 2000, [0, 0, 40, 50], false, 2)]);
        var evaluator = new CocoKeypointEvaluator([0.05, 0.05]);
        var e1 = Assert.Throws<ArgumentException>(() => evaluator.Evaluate(gt, [new CocoKeypointResult(7, kps, 0.9)]));
        Assert.Contains("image 7", e1.Message);
        var e2 = Assert.Throws<ArgumentException>(() => evaluator.Evaluate(gt, [new CocoKeypointResult(1, [1, 2, 3], 0.9)]));
        Assert.Contains("result 0", e2.Message);
    }

    [Fact]
    public void ResultsRoundTripThroughJson()
    {
        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"distill-results-{Guid.NewGuid():N}.json");
        try
        {
            var original = CocoKeypointResults.Load(EvaluationData.Path("coco_custom_sigma_results.json"));
            CocoKeypointResults.Save(path, original);
            var again = CocoKeypointResults.Load(path);
            Assert.Equal(original.Count, again.Count);
            for (int i = 0; i < original.Count; i++)
            {
                Assert.Equal(original[i].ImageId, again[i].ImageId);
                Assert.Equal(original[i].Score, again[i].Score);
                Assert.Equal(original[i].Keypoints, again[i].Keypoints);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void MissingKeyNamesFileRecordAndKey()
    {
        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"distill-gt-{Guid.NewGuid():N}.json");
        try
        {
            File.WriteAllText(path, """{"images":[{"id":1}],"annotations":[{"id":3,"image_id":1,"keypoints":[],"bbox":[0,0,1,1],"iscrowd":0,"num_keypoints":0,"category_id":1}]}""");
            var e = Assert.Throws<FormatException>(() => CocoKeypointGroundTruth.Load(path));
            Assert.Contains(path, e.Message);
            Assert.Contains("annotations[0]", e.Message);
            Assert.Contains("'area'", e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
