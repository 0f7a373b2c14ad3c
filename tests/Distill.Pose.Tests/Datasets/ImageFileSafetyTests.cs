using System.Diagnostics;
using System.Text.Json.Nodes;
using Distill.Pose.Datasets;
using Distill.TestSupport;

namespace Distill.Pose.Tests.Datasets;

/// <summary>
/// Image names must stay inside the source's image folder, image files must be regular files of a plausible size,
/// and the pre-flight finds every bad image of a dataset in one pass.
/// </summary>
public sealed class ImageFileSafetyTests : IDisposable
{
    private readonly TempFiles _tmp = new();

    public void Dispose() => _tmp.Dispose();

    private string Images => Directory.CreateDirectory(Path.Combine(_tmp.Dir, "images")).FullName;

    private string CocoWithFileName(int image, string fileName)
    {
        var root = CocoJson.Load();
        root["images"]![image]!["file_name"] = fileName;
        return CocoJson.Save(_tmp, root);
    }

    [Theory]
    [InlineData("../outside.jpg")]
    [InlineData("sub/../../outside.jpg")]
    [InlineData("/etc/passwd")]
    public void CocoFileNameLeavingTheImageFolderIsRefusedNamingTheRecord(string fileName)
    {
        var path = CocoWithFileName(1, fileName);
        var id = (long)CocoJson.Load()["images"]![1]!["id"]!;
        var e = Assert.Throws<DatasetException>(() => CocoKeypointDataset.Load(path, new CocoLoadOptions { ImageRoot = Images }));
        Assert.Equal(path, e.FilePath);
        Assert.Equal($"images[1] (id {id})", e.Record);
        Assert.Equal("file_name", e.Key);
        Assert.Contains("outside the image folder", e.Message);
        Assert.Contains("allow_outside_root", e.Message);

        // With skip-bad the record is counted as bad; with the opt-in the name resolves as written.
        var skipped = CocoKeypointDataset.Load(path, new CocoLoadOptions { ImageRoot = Images, SkipBad = true });
        Assert.Equal(1, skipped.Report.Skipped(SkipReason.BadRecord));
        Assert.DoesNotContain(skipped.Images, i => i.Id == id);
        var allowed = CocoKeypointDataset.Load(path, new CocoLoadOptions { ImageRoot = Images, AllowOutsideRoot = true });
        Assert.Equal(Path.GetFullPath(Path.Combine(Images, fileName)), allowed.FindImage(id)!.Path);
    }

    [Fact]
    public void NamesInsideTheFolderStillResolve()
    {
        var path = CocoWithFileName(1, "sub/./deeper/../x.jpg");
        var ds = CocoKeypointDataset.Load(path, new CocoLoadOptions { ImageRoot = Images });
        var id = (long)CocoJson.Load()["images"]![1]!["id"]!;
        Assert.Equal(Path.Combine(Images, "sub", "x.jpg"), ds.FindImage(id)!.Path);
    }

    [Fact]
    public void MpiiImageLeavingTheImageFolderIsRefusedNamingTheRecord()
    {
        var records = JsonNode.Parse(File.ReadAllText(SharedData.Data("mpii", "test_mpii.json")))!.AsArray();
        records[2]!["image"] = "../../etc/passwd";
        var path = _tmp.Write("mpii.json", records.ToJsonString());
        var e = Assert.Throws<DatasetException>(() => MpiiDataset.Load(path, new MpiiLoadOptions { ImageRoot = Images }));
        Assert.Equal(2, e.RecordIndex);
        Assert.Equal("image", e.Key);
        Assert.Contains("outside the image folder", e.Message);
        var allowed = MpiiDataset.Load(path, new MpiiLoadOptions { ImageRoot = Images, AllowOutsideRoot = true });
        Assert.Equal(Path.GetFullPath(Path.Combine(Images, "../../etc/passwd")), allowed[2].ImagePath);
    }

    private string MakeFifo(string name)
    {
        var path = Path.Combine(_tmp.Dir, name);
        using var p = Process.Start(new ProcessStartInfo("mkfifo", [path]) { UseShellExecute = false })!;
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
        return path;
    }

    [Fact]
    public async Task DevicesFifosAndEmptyFilesAreRefusedWithoutBeingRead()
    {
        if (!OperatingSystem.IsLinux()) return; // device files and FIFOs as on Linux
        var fifo = MakeFifo("pipe.jpg");
        var empty = _tmp.Write("empty.png", []);
        // Opening the FIFO would block until a writer appears: the check must answer without opening it.
        var errors = await Task.Run(() => new[] { "/dev/zero", fifo, empty }.Select(p => Record.Exception(() => PoseImageLoader.Load(p))).ToArray())
            .WaitAsync(TimeSpan.FromSeconds(20)); // a TimeoutException here means loading a FIFO or a device hung
        Assert.Contains("/dev/zero: a character device, not a regular image file", Assert.IsType<PoseImageException>(errors[0]).Message);
        Assert.Contains($"{fifo}: a FIFO, not a regular image file", Assert.IsType<PoseImageException>(errors[1]).Message);
        Assert.Equal($"{empty}: empty file", Assert.IsType<PoseImageException>(errors[2]).Message);
    }

    [Fact]
    public async Task PreflightReportsEveryBadImageOnceInOrder()
    {
        if (!OperatingSystem.IsLinux()) return; // FIFOs as on Linux
        var good = Path.Combine(_tmp.Dir, "good.jpg");
        File.Copy(SharedData.Data("coco", "000000000785.jpg"), good);
        var fifo = MakeFifo("fifo.png");
        var truncated = _tmp.Write("truncated.png", [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0]);
        var huge = _tmp.Write("huge.png", [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13,
            (byte)'I', (byte)'H', (byte)'D', (byte)'R', 0, 0, 0x4E, 0x20, 0, 0, 0x4E, 0x20, 8, 2, 0, 0, 0]); // 20000 x 20000
        var missing = Path.Combine(_tmp.Dir, "missing.jpg");
        var dir = Directory.CreateDirectory(Path.Combine(_tmp.Dir, "dir.jpg")).FullName;

        var bad = await Task.Run(() => ImagePreflight.Check([good, missing, fifo, good, truncated, huge, dir, good], threads: 4))
            .WaitAsync(TimeSpan.FromSeconds(20)); // a TimeoutException here means the pre-flight hung
        Assert.Equal([missing, fifo, truncated, huge, dir], bad.Select(b => b.Path));
        Assert.Equal("not found", bad[0].Reason);
        Assert.Equal("a FIFO, not a regular image file; refusing to read it", bad[1].Reason);
        Assert.Equal("truncated PNG header", bad[2].Reason);
        Assert.StartsWith("PNG image is 20000x20000 = 400.0 megapixels", bad[3].Reason);
        Assert.StartsWith("a directory", bad[4].Reason);
    }
}
