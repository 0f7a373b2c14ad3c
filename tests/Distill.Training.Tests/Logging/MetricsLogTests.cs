using System.Globalization;
using System.Text.Json;
using Distill.Training.Logging;

namespace Distill.Training.Tests.Logging;

public class MetricsLogTests
{
    [Fact]
    public void EachLineIsOneJsonObjectWithStepEpochWallTimeAndMetrics()
    {
        using var dir = new TempDirectory();
        using (var log = new MetricsLog(dir.Path))
        {
            Assert.Empty(dir.Files());
            log.Log(100, 1, new Dictionary<string, double> { ["loss"] = 0.125, ["lr"] = 2e-4 }, wallTime: 1718000000.25);
            log.Log(200, 2, new Dictionary<string, double> { ["coco/AP"] = 0.6123456789012345 }, wallTime: 1718000100.5);
        }

        string[] lines = File.ReadAllLines(Path.Combine(dir.Path, "metrics.jsonl"));
        Assert.Equal(2, lines.Length);

        using (var first = JsonDocument.Parse(lines[0]))
        {
            var root = first.RootElement;
            Assert.Equal(100, root.GetProperty("step").GetInt64());
            Assert.Equal(1, root.GetProperty("epoch").GetInt32());
            Assert.Equal(1718000000.25, root.GetProperty("wall_time").GetDouble());
            Assert.Equal(0.125, root.GetProperty("loss").GetDouble());
            Assert.Equal(2e-4, root.GetProperty("lr").GetDouble());
            Assert.Equal(5, root.EnumerateObject().Count());
        }
        using (var second = JsonDocument.Parse(lines[1]))
        {
            // Shortest round-trip formatting keeps every bit of the double.
            Assert.Equal(0.6123456789012345, second.RootElement.GetProperty("coco/AP").GetDouble());
        }
    }

    [Fact]
    public void NumbersIgnoreTheCurrentCulture()
    {
        var comma = (CultureInfo)CultureInfo.InvariantCulture.Clone();
        comma.NumberFormat.NumberDecimalSeparator = ",";
        comma.NumberFormat.NumberGroupSeparator = ".";
        var saved = CultureInfo.CurrentCulture;
        using var dir = new TempDirectory();
        try
        {
            CultureInfo.CurrentCulture = comma;
            using var log = new MetricsLog(dir.Path);
            log.Log(1, 0, new Dictionary<string, double> { ["loss"] = 1234.5 }, wallTime: 10.75);
        }
        finally
        {
            CultureInfo.CurrentCulture = saved;
        }

        string line = File.ReadAllText(Path.Combine(dir.Path, MetricsLog.FileName));
        Assert.Equal("{\"step\":1,\"epoch\":0,\"wall_time\":10.75,\"loss\":1234.5}\n", line);
    }

    [Fact]
    public void ASecondLogAppendsToTheSameFile()
    {
        using var dir = new TempDirectory();
        using (var log = new MetricsLog(dir.Path)) log.Log(1, 0, new Dictionary<string, double> { ["a"] = 1 }, 1);
        using (var log = new MetricsLog(dir.Path)) log.Log(2, 0, new Dictionary<string, double> { ["a"] = 2 }, 2);

        var records = MetricsLog.Read(Path.Combine(dir.Path, MetricsLog.FileName));

        Assert.Equal([1L, 2L], records.Select(r => r.Step).ToArray());
        Assert.Equal([1.0, 2.0], records.Select(r => r.Metrics["a"]).ToArray());
    }

    [Fact]
    public void EachLineIsOnDiskAsSoonAsItIsLogged()
    {
        using var dir = new TempDirectory();
        using var log = new MetricsLog(dir.Path);
        log.Log(5, 0, new Dictionary<string, double> { ["loss"] = 3 }, 1);

        // Read while the log is still open.
        var record = Assert.Single(MetricsLog.Read(log.Path));
        Assert.Equal(5, record.Step);
    }

    [Fact]
    public void NonFiniteValuesRoundTripAsNamedStrings()
    {
        using var dir = new TempDirectory();
        using (var log = new MetricsLog(dir.Path))
            log.Log(1, 0, new Dictionary<string, double> { ["nan"] = double.NaN, ["inf"] = double.PositiveInfinity, ["ninf"] = double.NegativeInfinity }, 1);

        string path = Path.Combine(dir.Path, MetricsLog.FileName);
        Assert.Contains("\"nan\":\"NaN\"", File.ReadAllText(path));
        var metrics = Assert.Single(MetricsLog.Read(path)).Metrics;
        Assert.True(double.IsNaN(metrics["nan"]));
        Assert.Equal(double.PositiveInfinity, metrics["inf"]);
        Assert.Equal(double.NegativeInfinity, metrics["ninf"]);
    }

    [Fact]
    public void ReservedNamesAreRejected()
    {
        using var dir = new TempDirectory();
        using var log = new MetricsLog(dir.Path);
        var e = Assert.Throws<ArgumentException>(() => log.Log(1, 0, new Dictionary<string, double> { ["step"] = 1 }));
        Assert.Contains("'step'", e.Message);
        Assert.Empty(dir.Files());
    }

    [Fact]
    public void ReadNamesTheFileAndLineOfABadLine()
    {
        using var dir = new TempDirectory();
        Directory.CreateDirectory(dir.Path);
        string path = Path.Combine(dir.Path, MetricsLog.FileName);
        File.WriteAllText(path, "{\"step\":1,\"epoch\":0,\"wall_time\":1,\"a\":1}\n{\"step\":2,\"epoch\":0,\"wall_time\":1,\"a\":true}\n");

        var e = Assert.Throws<InvalidDataException>(() => MetricsLog.Read(path));

        Assert.StartsWith($"{path}:2:", e.Message);
        Assert.Contains("\"a\"", e.Message);
    }

    [Fact]
    public void AppendingAfterACutOffLineStartsOnAFreshLine()
    {
        using var dir = new TempDirectory();
        Directory.CreateDirectory(dir.Path);
        string path = Path.Combine(dir.Path, MetricsLog.FileName);
        File.WriteAllText(path, "{\"step\":1,\"epoch\":0,\"wall_time\":1,\"a\":1}\n{\"step\":2,\"ep");

        using (var log = new MetricsLog(dir.Path)) log.Log(3, 0, new Dictionary<string, double> { ["a"] = 3 }, 3);

        string[] lines = File.ReadAllLines(path);
        Assert.Equal(3, lines.Length);
        Assert.Equal(3, JsonDocument.Parse(lines[2]).RootElement.GetProperty("step").GetInt64());
    }

    [Fact]
    public void FullDiskSurfacesAsIOExceptionAndStopsTheLog()
    {
        using var dir = new TempDirectory();
        FullDiskStream? stream = null;
        var log = new MetricsLog(dir.Path, p => stream = new FullDiskStream(
            new FileStream(p, FileMode.Append, FileAccess.Write, FileShare.Read, bufferSize: 0)));
        log.Log(1, 0, new Dictionary<string, double> { ["a"] = 1 }, 1);
        stream!.Budget = 7;

        var e = Assert.Throws<IOException>(() => log.Log(2, 0, new Dictionary<string, double> { ["a"] = 2 }, 2));

        Assert.Contains(log.Path, e.Message);
        Assert.Single(MetricsLog.Read(log.Path)); // the 7 bytes of the second line were cut off again
        Assert.Throws<InvalidOperationException>(() => log.Log(3, 0, new Dictionary<string, double> { ["a"] = 3 }, 3));
        log.Dispose();
    }
}
