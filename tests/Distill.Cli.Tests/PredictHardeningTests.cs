using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Distill.Cli.Tests.Support;
using Distill.Torch.Vision;

namespace Distill.Cli.Tests;

/// <summary>
/// `distill predict` on awkward inputs: an output folder that holds the inputs, inputs whose names differ only in the
/// extension, unreadable images, boxes off the image, malformed --bbox, and folders of many large images.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class PredictHardeningTests(CliFixture f)
{
    private CliResult Predict(params string[] extra) =>
        f.Run(["predict", "configs/tiny.yaml", "--checkpoint", f.ReferenceCheckpoint, .. extra]);

    /// <summary>A folder holding copies of the validation images plus pic.jpg and pic.png (the same picture).</summary>
    private string InputsWithSharedStem(string name)
    {
        var dir = f.NewDir(name);
        foreach (var file in Directory.GetFiles(f.ValImagesDir)) File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
        var first = Directory.GetFiles(f.ValImagesDir).Order(StringComparer.Ordinal).First();
        var img = Image.Read(first);
        img.SaveJpeg(Path.Combine(dir, "pic.jpg"));
        img.SavePng(Path.Combine(dir, "pic.png"));
        return dir;
    }

    [Fact]
    public void OutputIntoTheImageFolderKeepsEveryInputAndWritesOneOverlayPerInput()
    {
        var dir = InputsWithSharedStem("predict-out-is-in");
        var inputs = Directory.GetFiles(dir).Order(StringComparer.Ordinal).ToList();
        var before = inputs.ToDictionary(p => p, File.ReadAllBytes);

        var r = Predict("--images", dir, "--out", dir);
        Assert.True(r.ExitCode == 0, r.ToString());
        foreach (var (path, bytes) in before) Assert.True(bytes.AsSpan().SequenceEqual(File.ReadAllBytes(path)), $"{path} was overwritten");
        // One overlay per input, named after its whole file name, so pic.jpg and pic.png each get their own.
        foreach (var input in inputs) Assert.True(File.Exists(input + ".png"), $"no overlay for {input}");
        var written = Directory.GetFiles(dir).Except(inputs).Where(p => p.EndsWith(".png", StringComparison.Ordinal)).ToList();
        Assert.Equal(inputs.Count, written.Count);
        Assert.Contains($"predict: {inputs.Count} people in {inputs.Count} images -> {dir}", r.Output);
        Assert.Equal(inputs.Count, JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "predictions.json")))!.AsArray().Count);
    }

    [Fact]
    public void AnOutputFolderWhereAnOverlayWouldReplaceAnInputIsRefused()
    {
        var dir = f.NewDir("predict-collide");
        var img = Image.Read(Directory.GetFiles(f.ValImagesDir).Order(StringComparer.Ordinal).First());
        img.SavePng(Path.Combine(dir, "a.png"));
        img.SavePng(Path.Combine(dir, "a.png.png")); // the overlay name of a.png
        var before = File.ReadAllBytes(Path.Combine(dir, "a.png.png"));

        var r = Predict("--images", dir, "--out", dir);
        Assert.True(r.ExitCode != 0, r.ToString());
        Assert.Contains("--out", r.Output);
        Assert.Contains("a.png.png", r.Output);
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(dir, "a.png.png")));
        Assert.False(File.Exists(Path.Combine(dir, "a.png.png.png")));
    }

    [Fact]
    public void AFolderOfUnreadableImagesFailsAndSaysHowManyWereSkipped()
    {
        var dir = f.NewDir("predict-unreadable");
        File.WriteAllText(Path.Combine(dir, "1.jpg"), "not a jpeg");
        File.WriteAllBytes(Path.Combine(dir, "2.png"), [0x89, (byte)'P', (byte)'N', (byte)'G', 0, 1, 2]);
        var r = Predict("--images", dir, "--out", Path.Combine(dir, "out"));
        Assert.True(r.ExitCode != 0, r.ToString());
        Assert.Contains("no image could be read", r.Output);
        Assert.Contains("2 of 2 images unreadable", r.Output);
        Assert.Contains(Path.Combine(dir, "1.jpg"), r.Output);
        Assert.Contains(Path.Combine(dir, "2.png"), r.Output);
    }

    [Fact]
    public void OneUnreadableImageAmongGoodOnesIsSkippedAndCounted()
    {
        var dir = f.NewDir("predict-some-unreadable");
        var good = Directory.GetFiles(f.ValImagesDir).Order(StringComparer.Ordinal).First();
        File.Copy(good, Path.Combine(dir, Path.GetFileName(good)));
        File.WriteAllText(Path.Combine(dir, "broken.jpg"), "not a jpeg");
        var outDir = Path.Combine(dir, "out");
        var r = Predict("--images", dir, "--out", outDir);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains($"predict: 1 people in 1 images -> {outDir} (1 of 2 images unreadable, skipped)", r.Output);
        Assert.Single(Directory.GetFiles(outDir, "*.png"));
    }

    [Fact]
    public void ABoxWhollyOutsideTheImageIsNamedInAWarning()
    {
        var dir = f.NewDir("predict-box-outside");
        var image = Directory.GetFiles(f.ValImagesDir).Order(StringComparer.Ordinal).First();
        var r = Predict("--images", image, "--bbox", "5000,6000,40.5,80", "--out", dir);
        Assert.True(r.ExitCode == 0, r.ToString());
        var warning = Assert.Single(r.StdErr, l => l.Contains("warning", StringComparison.Ordinal));
        Assert.Contains(image, warning);
        Assert.Contains("[5000, 6000, 40.5, 80]", warning);
        // A box on the image gives none.
        var inside = Predict("--images", image, "--bbox", "2,3,40,50", "--out", dir);
        Assert.True(inside.ExitCode == 0, inside.ToString());
        Assert.DoesNotContain(inside.StdErr, l => l.Contains("warning", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("a,b,c,d")]
    [InlineData("1,2,3")]
    [InlineData("1,2,30,40,5")]
    [InlineData("1,2,NaN,40")]
    public void AMalformedBboxIsAnErrorNamingTheOption(string bbox)
    {
        var dir = f.NewDir("predict-bad-bbox");
        var r = Predict("--images", f.ValImagesDir, "--bbox", bbox, "--out", dir);
        Assert.True(r.ExitCode != 0, r.ToString());
        Assert.Contains("--bbox", r.Output);
        Assert.Contains(bbox, r.Output);
        Assert.Empty(Directory.GetFiles(dir));
    }

    /// <summary>
    /// Peak resident memory of predict on 50 images of 2000x1500 stays under a fixed bound: images stream through
    /// instead of every overlay being held to the end (which peaked at 0.93 GB here; streaming stays near 0.46 GB).
    /// </summary>
    [Fact]
    public void PeakMemoryDoesNotGrowWithTheNumberOfImages()
    {
        const int count = 50, width = 2000, height = 1500;
        const long boundKb = 650 * 1024;
        var dir = f.NewDir("predict-memory");
        var images = Path.Combine(dir, "images");
        Directory.CreateDirectory(images);
        // A smooth picture (so the JPEG is small and quick to write) copied under 50 names: each is decoded anew.
        var data = new byte[height * width * 3];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int o = (y * width + x) * 3;
                data[o] = (byte)(x * 255 / width);
                data[o + 1] = (byte)(y * 255 / height);
                data[o + 2] = (byte)((x + y) & 0xFF);
            }
        var first = Path.Combine(images, "000.jpg");
        new Image(height, width, 3, data).SaveJpeg(first, 80);
        for (int i = 1; i < count; i++) File.Copy(first, Path.Combine(images, i.ToString("000", CultureInfo.InvariantCulture) + ".jpg"));

        var outDir = Path.Combine(dir, "out");
        using var run = f.Start("predict", "configs/tiny.yaml", "--checkpoint", f.ReferenceCheckpoint, "--images", images, "--out", outDir);
        long peakKb = 0;
        var watch = Stopwatch.StartNew();
        while (!run.HasExited && watch.Elapsed < DistillCli.Timeout)
        {
            peakKb = Math.Max(peakKb, HighWaterMarkKb(run.Pid));
            Thread.Sleep(20);
        }
        var r = run.WaitForExit(DistillCli.Timeout);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains($"predict: {count} people in {count} images", r.Output);
        Assert.Equal(count, Directory.GetFiles(outDir, "*.png").Length);
        Assert.True(peakKb > 0, "no memory reading of the running command");
        Assert.True(peakKb < boundKb, $"peak RSS {peakKb / 1024} MB, bound {boundKb / 1024} MB");
    }

    /// <summary>VmHWM (peak resident set) of a running process, in kB; 0 once it has gone.</summary>
    private static long HighWaterMarkKb(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    return long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return 0;
    }
}
