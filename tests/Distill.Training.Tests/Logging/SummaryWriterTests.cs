using Distill.Torch.Vision;
using Distill.Training.Logging;
using Distill.Training.Logging.Proto;
using static Distill.Training.Tests.Logging.RawProto.WireType;

namespace Distill.Training.Tests.Logging;

public class SummaryWriterTests
{
    [Fact]
    public void NoFileExistsBeforeTheFirstRecord()
    {
        using var dir = new TempDirectory();
        using (var writer = new SummaryWriter(dir.Path))
        {
            writer.Flush();
            Assert.Null(writer.FilePath);
            Assert.Empty(dir.Files());
        }
        Assert.Empty(dir.Files());

        using var second = new SummaryWriter(dir.Path);
        second.AddScalar("loss", 1.0, 0);
        Assert.Single(dir.Files());
        Assert.True(new FileInfo(second.FilePath!).Length > 0);
    }

    [Fact]
    public void FileNameCarriesTimeHostAndProcess()
    {
        using var dir = new TempDirectory();
        long before = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        using var writer = new SummaryWriter(dir.Path);
        writer.AddScalar("loss", 1.0, 0);
        long after = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        string name = Path.GetFileName(writer.FilePath!);
        Assert.StartsWith("events.out.tfevents.", name);
        string[] rest = name["events.out.tfevents.".Length..].Split('.');
        long seconds = long.Parse(rest[0]);
        Assert.InRange(seconds, before, after);
        Assert.Equal(Environment.ProcessId.ToString(), rest[^2]);
        Assert.Equal(Environment.MachineName, string.Join('.', rest[1..^2]));
        Assert.Equal(Path.GetFullPath(dir.Path), Path.GetDirectoryName(writer.FilePath));
    }

    [Fact]
    public void TwoWritersOnOneDirectoryUseSeparateFiles()
    {
        using var dir = new TempDirectory();
        using var a = new SummaryWriter(dir.Path);
        using var b = new SummaryWriter(dir.Path);
        a.AddScalar("x", 1, 0);
        b.AddScalar("x", 2, 0);
        Assert.NotEqual(a.FilePath, b.FilePath);
        Assert.Equal(2, EventFileReader.FindEventFiles(dir.Path).Count);
    }

    [Fact]
    public void FirstRecordIsTheVersionEventInTensorBoardsWireFormat()
    {
        using var dir = new TempDirectory();
        using var writer = new SummaryWriter(dir.Path);
        writer.AddScalar("loss", 0.25, 300, wallTime: 1.5);
        writer.Flush();

        using var reader = TfRecordReader.Open(writer.FilePath!);
        var records = reader.ReadAll().ToList();

        // Event { wall_time (1, fixed64) = 1.5 ; file_version (3, bytes) = "brain.Event:2" }
        // 1.5 is 0x3FF8000000000000, little-endian below.
        byte[] version = [0x09, 0, 0, 0, 0, 0, 0, 0xF8, 0x3F, 0x1A, 13, .. "brain.Event:2"u8];
        Assert.Equal(version, records[0]);

        // Event { wall_time = 1.5 ; step (2, varint) = 300 -> 0xAC 0x02 ; summary (5, bytes) = Summary {
        //   value (1, bytes) = Value { tag (1, bytes) = "loss" ; simple_value (2, fixed32) = 0.25f = 0x3E800000 } } }
        byte[] value = [0x0A, 4, .. "loss"u8, 0x15, 0, 0, 0x80, 0x3E];
        byte[] summary = [0x0A, (byte)value.Length, .. value];
        byte[] scalar = [0x09, 0, 0, 0, 0, 0, 0, 0xF8, 0x3F, 0x10, 0xAC, 0x02, 0x2A, (byte)summary.Length, .. summary];
        Assert.Equal(scalar, records[1]);
        Assert.Equal(2, records.Count);
    }

    [Fact]
    public void SessionStartIsTensorBoardsSessionLogRecord()
    {
        using var dir = new TempDirectory();
        using var writer = new SummaryWriter(dir.Path);
        writer.AddSessionStart(41, "ck", wallTime: 1.5);
        writer.Flush();

        using var reader = TfRecordReader.Open(writer.FilePath!);
        var records = reader.ReadAll().ToList();
        // Event { wall_time = 1.5 ; step (2, varint) = 41 = 0x29 ; session_log (7, bytes) = SessionLog {
        //   status (1, varint) = START = 1 ; checkpoint_path (2, bytes) = "ck" } }
        byte[] log = [0x08, 1, 0x12, 2, .. "ck"u8];
        byte[] start = [0x09, 0, 0, 0, 0, 0, 0, 0xF8, 0x3F, 0x10, 0x29, 0x3A, (byte)log.Length, .. log];
        Assert.Equal(2, records.Count);
        Assert.Equal(start, records[1]);
        var audited = EventFileAudit.Read(writer.FilePath!);
        Assert.Equal(new EventFileAudit.AuditedSessionLog(1, "ck"), audited[1].SessionLog);
    }

    [Fact]
    public void ScalarsReadBackWithTheirTagsStepsAndValues()
    {
        using var dir = new TempDirectory();
        string path;
        using (var writer = new SummaryWriter(dir.Path))
        {
            for (int step = 0; step < 5; step++) writer.AddScalar("train/loss", 1.0 / (step + 1), step * 10, wallTime: 1000 + step);
            writer.AddScalars(new Dictionary<string, double> { ["val/ap"] = 0.61, ["val/ar"] = 0.7 }, 40);
            writer.AddScalar("train/loss", double.NaN, 50);
            path = writer.FilePath!;
        }

        var events = EventFileReader.ReadEvents(path).ToList();
        Assert.Equal(SummaryWriter.FileVersion, events[0].FileVersion);
        Assert.Equal(Event.WhatOneofCase.FileVersion, events[0].WhatCase);

        var points = EventFileReader.ReadScalars(path);
        Assert.Equal(8, points.Count);
        for (int step = 0; step < 5; step++)
        {
            Assert.Equal("train/loss", points[step].Tag);
            Assert.Equal(step * 10, points[step].Step);
            Assert.Equal((float)(1.0 / (step + 1)), points[step].Value);
            Assert.Equal(1000 + step, points[step].WallTime);
        }
        Assert.Equal(("val/ap", 40L, 0.61f), (points[5].Tag, points[5].Step, points[5].Value));
        Assert.Equal(("val/ar", 40L, 0.7f), (points[6].Tag, points[6].Step, points[6].Value));
        Assert.Equal(points[5].WallTime, points[6].WallTime); // one record for both
        Assert.True(float.IsNaN(points[7].Value));
        double now = (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).TotalSeconds;
        Assert.InRange(points[7].WallTime, now - 60, now + 1);
    }

    [Fact]
    public void ImageReadsBackWithSizeColorspaceAndIdenticalPng()
    {
        var image = new Image(5, 7);
        for (int y = 0; y < 5; y++)
            for (int x = 0; x < 7; x++)
            {
                image[y, x, 0] = (byte)(x * 30);
                image[y, x, 1] = (byte)(y * 50);
                image[y, x, 2] = (byte)(x * y);
            }
        byte[] png = image.EncodePng();

        using var dir = new TempDirectory();
        string path;
        using (var writer = new SummaryWriter(dir.Path))
        {
            writer.AddImage("samples/0", image, 12);
            writer.AddImage("samples/raw", png, 5, 7, 13);
            path = writer.FilePath!;
        }

        var events = EventFileReader.ReadEvents(path).Skip(1).ToList();
        Assert.Equal(2, events.Count);
        foreach (var evt in events)
        {
            var img = Assert.Single(evt.Summary.Value).Image;
            Assert.Equal(5, img.Height);
            Assert.Equal(7, img.Width);
            Assert.Equal(3, img.Colorspace); // RGB
            Assert.Equal(png, img.EncodedImageString.ToByteArray());
            Assert.Equal(image.Data, Image.Decode(img.EncodedImageString.Span).Data);
        }
        Assert.Equal(12, events[0].Step);
        Assert.Equal("samples/raw", events[1].Summary.Value[0].Tag);

        // Value.image is field 4; Image has height 1, width 2, colorspace 3 (varints) and the PNG in field 4.
        byte[] payload = Payloads(path)[1];
        byte[] value = RawProto.Submessage(RawProto.Submessage(payload, 5), 1);
        Assert.Equal([(1, LengthDelimited), (4, LengthDelimited)], RawProto.Tags(value));
        Assert.Equal([(1, Varint), (2, Varint), (3, Varint), (4, LengthDelimited)], RawProto.Tags(RawProto.Submessage(value, 4)));
    }

    [Fact]
    public void ImageWhosePngDisagreesWithTheGivenSizeIsRejected()
    {
        byte[] png = new Image(5, 7).EncodePng();
        using var dir = new TempDirectory();
        using var writer = new SummaryWriter(dir.Path);

        var swapped = Assert.Throws<ArgumentException>(() => writer.AddImage("img", png, 7, 5, 0));
        Assert.Contains("7x5 (w x h)", swapped.Message);
        var notPng = Assert.Throws<ArgumentException>(() => writer.AddImage("img", new Image(5, 7).EncodeJpeg(), 5, 7, 0));
        Assert.Contains("not a PNG", notPng.Message);
        Assert.Empty(dir.Files());
    }

    [Fact]
    public void HistogramReadsBackWithStatisticsAndBuckets()
    {
        float[] values = [1.0f, -0.5f, 0f, 0f, 2.5f, 1.0f];
        using var dir = new TempDirectory();
        string path;
        using (var writer = new SummaryWriter(dir.Path))
        {
            writer.AddHistogram("weights/conv1", values, 7);
            path = writer.FilePath!;
        }

        var evt = EventFileReader.ReadEvents(path).Last();
        var h = Assert.Single(evt.Summary.Value).Histo;
        Assert.Equal(-0.5, h.Min);
        Assert.Equal(2.5, h.Max);
        Assert.Equal(6, h.Num);
        Assert.Equal(4.0, h.Sum);          // 1 - 0.5 + 0 + 0 + 2.5 + 1
        Assert.Equal(8.5, h.SumSquares);   // 1 + 0.25 + 0 + 0 + 6.25 + 1
        Assert.Equal(h.Num, h.Bucket.Sum());
        Assert.Equal(h.BucketLimit.Count, h.Bucket.Count);
        Assert.True(h.BucketLimit.Zip(h.BucketLimit.Skip(1)).All(p => p.First < p.Second));

        // Every value lies in the bucket whose right edge is the first limit above it, and edges grow by 10 %:
        // 1.0 -> edge in (1.0, 1.1]; -0.5 -> (-0.5, -0.5 / 1.1]; 0 -> the first positive edge 1e-12; 2.5 -> (2.5, 2.75].
        Assert.Equal(2, CountAt(h, e => e > 1.0 && e <= 1.1));
        Assert.Equal(1, CountAt(h, e => e > -0.5 && e <= -0.5 / 1.1));
        Assert.Equal(2, CountAt(h, e => e == 1e-12));
        Assert.Equal(1, CountAt(h, e => e > 2.5 && e <= 2.75));

        // HistogramProto: min..sum_squares are doubles (fields 1-5), the two arrays are packed (6, 7).
        byte[] payload = Payloads(path)[1];
        byte[] histo = RawProto.Submessage(RawProto.Submessage(RawProto.Submessage(payload, 5), 1), 5);
        Assert.Equal(
            [(1, Fixed64), (2, Fixed64), (3, Fixed64), (4, Fixed64), (5, Fixed64), (6, LengthDelimited), (7, LengthDelimited)],
            RawProto.Tags(histo));
    }

    [Fact]
    public void HistogramOfNonFiniteValuesIsRejectedNamingTheTag()
    {
        using var dir = new TempDirectory();
        using var writer = new SummaryWriter(dir.Path);
        var e = Assert.Throws<ArgumentException>(() => writer.AddHistogram("grad/head", [1f, float.NaN], 3));
        Assert.Contains("grad/head", e.Message);
        Assert.Contains("value 1", e.Message);
        Assert.Throws<ArgumentException>(() => writer.AddHistogram("grad/head", ReadOnlySpan<float>.Empty, 3));
        Assert.Empty(dir.Files());
    }

    [Fact]
    public void ConcurrentWritersProduceOnlyWholeRecords()
    {
        using var dir = new TempDirectory();
        string path;
        using (var writer = new SummaryWriter(dir.Path))
        {
            Parallel.For(0, 4, thread =>
            {
                for (int step = 0; step < 250; step++)
                {
                    if (step % 50 == 0) writer.AddHistogram($"h{thread}", [step, -step, thread], step);
                    else writer.AddScalar($"t{thread}", thread * 1000 + step, step);
                }
            });
            path = writer.FilePath!;
        }

        var events = EventFileReader.ReadEvents(path).ToList();
        Assert.Equal(1 + 4 * 250, events.Count);
        var scalars = EventFileReader.ReadScalars(path);
        Assert.Equal(4 * 245, scalars.Count);
        foreach (var p in scalars) Assert.Equal(int.Parse(p.Tag[1..]) * 1000 + p.Step, p.Value);
    }

    [Fact]
    public void FullDiskSurfacesAsIOExceptionAndLeavesOnlyWholeRecords()
    {
        using var dir = new TempDirectory();
        FullDiskStream? stream = null;
        var writer = new SummaryWriter(dir.Path, p => stream = new FullDiskStream(
            new FileStream(p, FileMode.CreateNew, FileAccess.Write, FileShare.Read, bufferSize: 0)));
        writer.AddScalar("loss", 1, 0);
        long goodLength = new FileInfo(writer.FilePath!).Length;
        stream!.Budget = 10; // the next record is longer than 10 bytes

        var e = Assert.Throws<IOException>(() => writer.AddScalar("loss", 2, 1));
        Assert.Contains(writer.FilePath!, e.Message);
        Assert.Contains("No space left", e.Message);

        // The 10 bytes that did reach the file were cut off again.
        Assert.Equal(goodLength, new FileInfo(writer.FilePath!).Length);
        Assert.Equal(2, EventFileReader.ReadEvents(writer.FilePath!).Count());

        var refused = Assert.Throws<InvalidOperationException>(() => writer.AddScalar("loss", 3, 2));
        Assert.Contains("failed earlier", refused.Message);
        Assert.Contains(writer.FilePath!, refused.Message);
        Assert.Throws<InvalidOperationException>(writer.Flush);
        writer.Dispose();
    }

    [Fact]
    public void FullDiskOnTheFirstWriteLeavesNoFile()
    {
        using var dir = new TempDirectory();
        using var writer = new SummaryWriter(dir.Path, p => new FullDiskStream(
            new FileStream(p, FileMode.CreateNew, FileAccess.Write, FileShare.Read, bufferSize: 0)) { Budget = 5 });

        Assert.Throws<IOException>(() => writer.AddScalar("loss", 1, 0));

        Assert.Empty(dir.Files());
    }

    [Fact]
    public void DisposedWriterRefusesRecords()
    {
        using var dir = new TempDirectory();
        var writer = new SummaryWriter(dir.Path);
        writer.AddScalar("a", 1, 0);
        writer.Dispose();
        writer.Dispose();
        Assert.Throws<ObjectDisposedException>(() => writer.AddScalar("a", 1, 1));
        Assert.Equal(2, EventFileReader.ReadEvents(writer.FilePath!).Count());
    }

    [Fact]
    public void ReaderDetectsACorruptedByteInAWrittenFile()
    {
        using var dir = new TempDirectory();
        string path;
        using (var writer = new SummaryWriter(dir.Path))
        {
            writer.AddScalar("a", 1, 0);
            writer.AddScalar("b", 2, 1);
            path = writer.FilePath!;
        }
        byte[] bytes = File.ReadAllBytes(path);
        bytes[^8] ^= 0x04; // inside the last record's data (the float value of "b")
        File.WriteAllBytes(path, bytes);

        var e = Assert.Throws<InvalidDataException>(() => EventFileReader.ReadEvents(path).ToList());

        Assert.Contains(path, e.Message);
        Assert.Contains("record 2", e.Message);
        Assert.Contains("data CRC mismatch", e.Message);
    }

    private static List<byte[]> Payloads(string path)
    {
        using var reader = TfRecordReader.Open(path);
        return reader.ReadAll().ToList();
    }

    private static double CountAt(HistogramProto h, Func<double, bool> edge) =>
        h.BucketLimit.Select((limit, i) => (limit, i)).Where(p => edge(p.limit)).Sum(p => h.Bucket[p.i]);
}
