using Distill.Pose.Datasets;
using Distill.Pose.Evaluation;
using Distill.TestSupport;

namespace Distill.Pose.Tests.Datasets;

/// <summary>
/// The official MPII release layout (mpii_human_pose_v1_u12_1.mat), written by scipy at test size in the test
/// (<see cref="MpiiReleaseFiles.WriteTiny"/> states the values).
/// </summary>
public sealed class MpiiReleaseTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    private string Tiny(bool compress = false)
    {
        string path = Path.Combine(_files.Dir, compress ? "release_z.mat" : "release.mat");
        MpiiReleaseFiles.WriteTiny(path, compress);
        return path;
    }

    [ScipyFact]
    public void ReadsImagesPeopleJointsAndTheReleaseLists()
    {
        foreach (var compress in new[] { false, true })
        {
            var release = MpiiRelease.Load(Tiny(compress));
            Assert.Equal(3, release.Images.Count);
            Assert.Equal(["015601864.jpg", "015599452.jpg", "005808361.jpg"], release.Images.Select(i => i.Name));
            Assert.Equal([true, false, true], release.Images.Select(i => i.IsTrain));

            var first = release.Images[0];
            Assert.Equal(2, first.People.Count);
            var p1 = first.People[0];
            Assert.Equal(1, p1.Index);
            Assert.Equal([627.0, 100, 706, 198], p1.HeadBox!);
            Assert.Equal(3.021046, p1.Scale);
            Assert.Equal([594.0, 257], p1.ObjPos!);
            Assert.Equal(16, p1.Points.Count);
            Assert.Equal(new MpiiReleasePoint(5, 625, 404, true), p1.Points[5]);

            var p2 = first.People[1];
            Assert.Equal([200.0, 50, 230, 90], p2.HeadBox!);
            Assert.Equal(1.5, p2.Scale);
            Assert.Equal(
                [new MpiiReleasePoint(9, 301.5, 402.25, false), new MpiiReleasePoint(8, 310, 420, null), new MpiiReleasePoint(0, 300, 500, false)],
                p2.Points);

            var test = release.Images[1].People.Single();
            Assert.Null(test.HeadBox);
            Assert.Equal(2.0, test.Scale);
            Assert.Equal([100.0, 120], test.ObjPos!);
            Assert.Empty(test.Points);
            Assert.Empty(release.Images[2].People);

            Assert.Equal([1, 2], first.SinglePerson);
            Assert.Equal([1], release.Images[1].SinglePerson);
            Assert.Empty(release.Images[2].SinglePerson);
            Assert.Equal(new MpiiReleaseActivity("sports", "curling", 1), first.Activity);
            Assert.Equal(new MpiiReleaseActivity("", "", -1), release.Images[1].Activity);
            Assert.Equal(new MpiiReleaseActivity("running", "jogging", 3), release.Images[2].Activity);
        }
    }

    [ScipyFact]
    public void ADatasetFromTheReleaseEqualsOneFromTheConvertedJson()
    {
        string mat = Tiny(compress: true);
        // The two annotated training people as mmpose's JSON holds them (joints not given are unlabelled).
        var joints1 = string.Join(", ", Enumerable.Range(0, 16).Select(j => $"[{620 + j}, {394 + 2 * j}]"));
        var joints2 = string.Join(", ", Enumerable.Range(0, 16).Select(j => j switch
        {
            9 => "[301.5, 402.25]", 8 => "[310, 420]", 0 => "[300, 500]", _ => "[0, 0]",
        }));
        var vis2 = string.Join(", ", Enumerable.Range(0, 16).Select(j => j is 0 or 8 or 9 ? 1 : 0));
        string json = _files.Write("converted.json", $$"""
            [
              {"image": "015601864.jpg", "center": [594, 257], "scale": 3.021046, "joints": [{{joints1}}],
               "joints_vis": [{{string.Join(", ", Enumerable.Repeat(1, 16))}}], "headboxes": [627, 100, 706, 198]},
              {"image": "015601864.jpg", "center": [310, 450], "scale": 1.5, "joints": [{{joints2}}],
               "joints_vis": [{{vis2}}], "headboxes": [200, 50, 230, 90]}
            ]
            """);
        var fromMat = MpiiDataset.Load(mat);
        var fromJson = MpiiDataset.Load(json);
        Assert.Equal(2, fromMat.Count);
        Assert.Equal(2, fromMat.Report.RecordsRead);
        for (int i = 0; i < 2; i++)
        {
            var (a, b) = (fromMat[i], fromJson[i]);
            Assert.Equal(b.ImagePath, a.ImagePath);
            Assert.Equal(b.ImageId, a.ImageId);
            Assert.Equal(b.Bbox, a.Bbox);
            Assert.Equal(b.Center, a.Center);
            Assert.Equal(b.Scale, a.Scale);
            Assert.Equal(b.Area, a.Area);
            Assert.Equal(b.Keypoints, a.Keypoints);
            Assert.Equal(b.Visibility, a.Visibility);
            Assert.Equal(b.NumKeypoints, a.NumKeypoints);
            Assert.Equal(b.HeadBox, a.HeadBox);
        }
        // Person 1 by hand: side 3.021046 x 200 = 604.2092; centre (594 - 1, 257 + 0.075 x 604.2092 - 1) = (593, 301.31569).
        Assert.Equal(593, fromMat[0].Center!.Value.X, 1e-4);
        Assert.Equal(301.31569, fromMat[0].Center!.Value.Y, 1e-4);
        Assert.Equal(3, fromMat[1].NumKeypoints);
        Assert.Equal(15601864, fromMat[0].ImageId);
    }

    [ScipyFact]
    public void ProblemsNameTheFileAndTheMatlabPath()
    {
        string path = Path.Combine(_files.Dir, "broken.mat");
        Scipy.Run("""
            import sys
            import numpy as np
            from scipy.io import savemat
            image = np.zeros((1, 1), dtype=[('title', 'O')])
            image[0, 0]['title'] = np.array('a.jpg')
            annolist = np.zeros((1, 1), dtype=[('image', 'O'), ('annorect', 'O')])
            annolist[0, 0] = (image, np.zeros((0, 0)))
            release = np.zeros((1, 1), dtype=[('annolist', 'O'), ('img_train', 'O')])
            release[0, 0] = (annolist, np.array([[1]]))
            savemat(sys.argv[1], {'RELEASE': release})
            """, path);
        var e = Assert.Throws<FormatException>(() => MpiiRelease.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("'RELEASE.annolist.image'", e.Message);
        Assert.Contains("no field 'name'", e.Message);

        var d = Assert.Throws<DatasetException>(() => MpiiDataset.Load(path));
        Assert.Equal(path, d.FilePath);
        Assert.Contains("no field 'name'", d.Message);
    }

    [ScipyFact]
    public void DamagedReleaseFilesFailOnlyWithFormatErrors()
    {
        var original = File.ReadAllBytes(Tiny());
        var random = new Random(99);
        for (int trial = 0; trial < 300; trial++)
        {
            var bytes = (byte[])original.Clone();
            for (int f = 0; f < 1 + random.Next(3); f++) bytes[128 + random.Next(bytes.Length - 128)] = (byte)random.Next(256);
            try
            {
                MpiiRelease.FromMatFile(MatFile.Read(new MemoryStream(bytes), "damaged.mat"));
            }
            catch (FormatException e)
            {
                Assert.Contains("damaged.mat", e.Message);
            }
            catch (KeyNotFoundException e)
            {
                // A renamed variable: the file's variable list is named.
                Assert.Contains("damaged.mat", e.Message);
            }
        }
    }
}
