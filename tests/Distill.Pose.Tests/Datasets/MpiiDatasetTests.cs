using System.Numerics;
using System.Text.Json.Nodes;
using Distill.Pose.Datasets;
using Distill.TestSupport;

namespace Distill.Pose.Tests.Datasets;

public class MpiiDatasetTests
{
    private static string MpiiPath => SharedData.Data("mpii", "test_mpii.json");

    [Fact]
    public void LoadsEveryRecordOfTheRealFile()
    {
        var ds = MpiiDataset.Load(MpiiPath);
        Assert.Equal(5, ds.Count);
        Assert.Equal(5, ds.Report.Loaded);
        Assert.Equal(0, ds.Report.TotalSkipped);
        Assert.Equal(5, ds.Images.Count);
        Assert.Equal("mpii16", ds.KeypointSet.Name);
        Assert.Empty(ds.ValidateImages());
    }

    [Fact]
    public void BoxFollowsMmposeFromCentreAndScale()
    {
        // Record 0: image 005808361.jpg, center [966, 340], scale 4.718488.
        //   side = 4.718488 * 200 = 943.6976
        //   centre y += 15/200 * 943.6976 = 70.77732  ->  410.77732 (centre x != -1)
        //   centre -= 1                               ->  (965, 409.77732)
        //   box x = 965 - 943.6976/2 = 493.1512, y = 409.77732 - 471.8488 = -62.07148, w = h = 943.6976
        //   area = 943.6976^2 * 0.53 = 471999.535
        var r = MpiiDataset.Load(MpiiPath)[0];
        Assert.Equal(SharedData.Data("mpii", "005808361.jpg"), r.ImagePath);
        Assert.Equal(5808361, r.ImageId);
        Assert.Equal(0, r.InstanceId);
        Assert.Equal(493.1512, r.Bbox.X, 1e-3);
        Assert.Equal(-62.07148, r.Bbox.Y, 1e-3);
        Assert.Equal(943.6976, r.Bbox.Width, 1e-3);
        Assert.Equal(943.6976, r.Bbox.Height, 1e-3);
        Assert.Equal(471999.535, r.Area, 0.1);
        Assert.Equal(new Vector2(965f, 409.77732f), r.Center!.Value);
        Assert.Equal(943.6976f, r.Scale!.Value.X, 1e-3f);
        // Joints are not shifted: the first joint is [804, 711] in the file.
        Assert.Equal([804f, 711f], r.Keypoints[..2]);
        Assert.Equal(16, r.NumKeypoints);
    }

    [Fact]
    public void CentreAtMinusOneIsNotMovedDown()
    {
        // mmpose moves the centre down only when centre x != -1; both coordinates still move by -1.
        Assert.Equal((-2.0, 9.0), MpiiDataset.BoxCenter(-1, 10, 400));
        Assert.Equal((9.0, 39.0), MpiiDataset.BoxCenter(10, 10, 400)); // 10 + 15/200 * 400 - 1 = 39
    }

    [Fact]
    public void VisibilityComesFromJointsVis()
    {
        // Record 2 (051423444.jpg): joints_vis = [0, 1, 1, 1, 1, 0, 1, ...]; joint 0 is [-1, -1].
        var r = MpiiDataset.Load(MpiiPath)[2];
        Assert.Equal([0f, 2f, 2f, 2f, 2f, 0f, 2f], r.Visibility[..7]);
        Assert.Equal(14, r.NumKeypoints);
        Assert.Equal([-1f, -1f], r.Keypoints[..2]);
    }

    private static JsonArray LoadRecords() => JsonNode.Parse(File.ReadAllText(MpiiPath))!.AsArray();

    [Fact]
    public void HeadBoxesComeFromRecordsOrFromTheCaller()
    {
        using var tmp = new TempFiles();
        var records = LoadRecords();
        records[0]!["headboxes"] = new JsonArray(10, 20, 50, 70);
        records[1]!["headboxes"] = JsonNode.Parse("[[1, 2], [3, 4]]");
        string path = tmp.Write("mpii.json", records.ToJsonString());

        var ds = MpiiDataset.Load(path, new MpiiLoadOptions { ImageRoot = SharedData.Data("mpii") });
        Assert.Equal(BoundingBox.FromCorners(10, 20, 50, 70), ds[0].HeadBox);
        Assert.Equal(BoundingBox.FromCorners(1, 2, 3, 4), ds[1].HeadBox);
        Assert.Null(ds[2].HeadBox);

        var supplied = Enumerable.Range(0, 5).Select(i => BoundingBox.FromCorners(i, i, i + 10, i + 20)).ToArray();
        var withList = MpiiDataset.Load(path, new MpiiLoadOptions { HeadBoxes = supplied });
        Assert.Equal(supplied, withList.Select(r => r.HeadBox!.Value));

        var withLookup = MpiiDataset.Load(path, new MpiiLoadOptions
        {
            HeadBoxLookup = (i, image) => image == "052475643.jpg" ? BoundingBox.FromCorners(5, 6, 7, 8) : null,
        });
        Assert.Equal(BoundingBox.FromCorners(10, 20, 50, 70), withLookup[0].HeadBox); // falls back to the record
        Assert.Equal(BoundingBox.FromCorners(5, 6, 7, 8), withLookup[1].HeadBox);

        var e = Assert.Throws<DatasetException>(() => MpiiDataset.Load(path, new MpiiLoadOptions { HeadBoxes = supplied[..3] }));
        Assert.Contains("3 head boxes were supplied for 5 records", e.Message);
    }

    [Fact]
    public void MissingFieldNamesFileAndRecord()
    {
        using var tmp = new TempFiles();
        var records = LoadRecords();
        records[1]!.AsObject().Remove("scale");
        string path = tmp.Write("mpii.json", records.ToJsonString());
        var e = Assert.Throws<DatasetException>(() => MpiiDataset.Load(path));
        Assert.Equal($"{path}: records[1] (image 052475643.jpg): 'scale': missing field", e.Message);
    }

    [Fact]
    public void WrongJointCountAndTypesAreErrorsOrCountedSkips()
    {
        using var tmp = new TempFiles();
        var records = LoadRecords();
        records[3]!["joints"]!.AsArray().RemoveAt(15);
        records[4]!["center"] = "middle";
        string path = tmp.Write("mpii.json", records.ToJsonString());
        var e = Assert.Throws<DatasetException>(() => MpiiDataset.Load(path));
        Assert.Contains("records[3] (image 004645041.jpg): 'joints': expected 16 entries of 2 numbers, found 15 entries", e.Message);

        var ds = MpiiDataset.Load(path, new MpiiLoadOptions { SkipBad = true });
        Assert.Equal(3, ds.Count);
        Assert.Equal(2, ds.Report.Skipped(SkipReason.BadRecord));
        Assert.Contains(ds.Report.Problems, p => p.Record == "records[4] (image 060754485.jpg)" && p.Message.Contains("expected an array, found the string \"middle\""));
    }

    [Fact]
    public void NonFiniteAndZeroScaleAreCountedSkips()
    {
        using var tmp = new TempFiles();
        var records = LoadRecords();
        records[0]!["scale"] = 0.0;
        records[1]!["joints"]![3]![0] = 424242.0;
        string path = tmp.Write("mpii.json", records.ToJsonString().Replace("424242", "Infinity"));
        var ds = MpiiDataset.Load(path);
        Assert.Equal(3, ds.Count);
        Assert.Equal(1, ds.Report.Skipped(SkipReason.DegenerateBox));
        Assert.Equal(1, ds.Report.Skipped(SkipReason.NonFinite));
    }
}
