using System.Text.Json;
using Distill.Pose.Datasets;
using Distill.TestSupport;
using Distill.Training.Config.Schema;
using Distill.Training.Engine;
using Distill.Training.Evaluation;

namespace Distill.Training.Tests.Evaluation;

/// <summary>
/// evaluation.mpii_gt: head boxes from mpii_gt_val.mat for the records of an mmpose-style MPII validation file, and
/// PCKh by mmpose's rule for it. Inputs: the first three records of the shared test_mpii.json (real images) and the
/// three-person Data/mpii_gt_small.mat of the Pose tests, whose head boxes are all 30 x 40 (head size 0.6 x 50 = 30).
/// </summary>
public sealed class MpiiGtPckhTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("distill-mpiigt-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string MpiiGtSmall =>
        Path.Combine(SharedData.RepoRoot, "tests", "Distill.Pose.Tests", "Evaluation", "Data", "mpii_gt_small.mat");

    private DataSourceOptions Source(int records)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(SharedData.Data("mpii", "test_mpii.json")));
        string val = Path.Combine(_dir, "mpii_val.json");
        File.WriteAllText(val, "[" + string.Join(",", doc.RootElement.EnumerateArray().Take(records).Select(e => e.GetRawText())) + "]");
        return new DataSourceOptions
        {
            Name = "mpii", Format = DataFormat.Mpii, AnnFile = val, ImgDir = SharedData.Data("mpii"), ValAnnFile = val,
        };
    }

    [Fact]
    public void PckhUsesTheMatHeadBoxesThePlusOneShiftAndAStrictThreshold()
    {
        var src = SourceData.Load(Source(3), train: false, val: true, MpiiGtSmall);
        Assert.True(src.PckhFromMpiiGt);
        var val = src.Val!;
        // Head boxes in record order from headboxes_src: record i spans (100 + 10 i, 50 + i) - (130 + 10 i, 90 + i).
        Assert.Equal(BoundingBox.FromCorners(110, 51, 140, 91), val[1].HeadBox);

        // Each prediction sits at the ground truth moved by (dx - 1, -1): mmpose adds 1 to both coordinates, so the
        // scored distance is exactly dx. Record 0: dx = 0. Record 1: dx = 15, ratio 15 / 30 = 0.5, not < 0.5, wrong
        // (the inclusive rule would count it). Record 2: dx = 14, ratio 0.467, right at 0.5, wrong at 0.1.
        double[] dx = [0, 15, 14];
        var inst = Enumerable.Range(0, 3).Select(i => val[i]).ToList();
        var preds = inst.Select((p, i) => p.Keypoints.Select((v, c) => c % 2 == 0 ? v + dx[i] - 1 : v - 1.0).ToArray()).ToList();
        var scores = inst.Select(p => p.Visibility.Select(_ => 1.0).ToArray()).ToList();
        var m = PoseEvaluator.Score(new SourcePredictions(src, inst, preds, scores), [MetricFamily.Pckh]);

        // Records 0 and 1 label all 16 joints, record 2 all but the ankles (0 and 5); pelvis and thorax are left out
        // of the mean, so 14 + 14 + 12 = 40 joints count. PCKh@0.5 = (14 + 0 + 12) / 40 = 0.65, PCKh@0.1 = 14 / 40 = 0.35.
        Assert.Equal(0.65, m["PCKh"], 12);
        Assert.Equal(0.35, m["PCKh@0.1"], 12);
    }

    [Fact]
    public void AFileForAnotherNumberOfPeopleIsRefusedNamingBothFiles()
    {
        var s = Source(5);
        var e = Assert.Throws<DatasetException>(() => SourceData.Load(s, train: false, val: true, MpiiGtSmall));
        Assert.Contains(Path.GetFullPath(MpiiGtSmall), e.Message);
        Assert.Contains(s.ValAnnFile!, e.Message);
        Assert.Contains("3 head boxes were supplied for 5 records", e.Message);

        var missing = Assert.Throws<FileNotFoundException>(() => SourceData.Load(s, train: false, val: true, Path.Combine(_dir, "nope.mat")));
        Assert.Contains("evaluation.mpii_gt", missing.Message);
    }

    [Fact]
    public void WithoutTheKeyNothingChanges()
    {
        var src = SourceData.Load(Source(3), train: false, val: true);
        Assert.False(src.PckhFromMpiiGt);
        Assert.Null(src.Val![0].HeadBox);
    }
}
