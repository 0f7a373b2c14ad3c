using System.Buffers.Binary;
using Google.Protobuf;

namespace Distill.Training.Tests.Logging;

/// <summary>
/// Reads a TensorBoard event file without the library's reader or its generated message classes: the TFRecord
/// framing, the CRCs and the Event / Summary / HistogramProto / Image fields are decoded here from the published
/// formats (field numbers of TensorFlow's event.proto and summary.proto), so a writer is checked against the format
/// rather than against itself. Every deviation fails the calling test with the record index and byte offset.
/// </summary>
internal static class EventFileAudit
{
    public sealed record AuditedEvent(int Index, double WallTime, long Step, string? FileVersion, IReadOnlyList<AuditedValue> Values,
        AuditedSessionLog? SessionLog = null);

    /// <summary>TensorBoard's SessionLog: status (1 = START), checkpoint_path.</summary>
    public sealed record AuditedSessionLog(int Status, string CheckpointPath);

    public sealed record AuditedValue(string Tag, float? Scalar, AuditedImage? Image, AuditedHistogram? Histogram);

    public sealed record AuditedImage(int Height, int Width, int Colorspace, byte[] Encoded);

    public sealed record AuditedHistogram(double Min, double Max, double Num, double Sum, double SumSquares,
        IReadOnlyList<double> BucketLimit, IReadOnlyList<double> Bucket, IReadOnlyList<(int Field, int WireType)> Fields);

    /// <summary>
    /// Every record of <paramref name="path"/>: length, masked CRC-32C of the 8 length bytes, data, masked CRC-32C of
    /// the data; the first one must be the file-version event "brain.Event:2" and every later one a summary event.
    /// </summary>
    public static List<AuditedEvent> Read(string path)
    {
        byte[] file = File.ReadAllBytes(path);
        var events = new List<AuditedEvent>();
        int pos = 0;
        while (pos < file.Length)
        {
            string at = $"{path}: record {events.Count} at byte {pos}";
            Assert.True(file.Length - pos >= 16, $"{at}: {file.Length - pos} bytes left, less than a record's framing");
            ulong length = BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan(pos));
            uint lengthCrc = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(pos + 8));
            Assert.True(lengthCrc == MaskedCrc(file.AsSpan(pos, 8)), $"{at}: length CRC 0x{lengthCrc:X8} is not the masked CRC-32C of the length");
            Assert.True(length <= (ulong)(file.Length - pos - 16), $"{at}: length {length} runs past the end of the file");
            var data = file.AsSpan(pos + 12, (int)length);
            uint dataCrc = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(pos + 12 + (int)length));
            Assert.True(dataCrc == MaskedCrc(data), $"{at}: data CRC 0x{dataCrc:X8} is not the masked CRC-32C of the data");
            events.Add(ParseEvent(events.Count, data.ToArray(), at));
            pos += 16 + (int)length;
        }
        Assert.True(events.Count > 0, $"{path}: no records");
        Assert.Equal("brain.Event:2", events[0].FileVersion);
        Assert.Empty(events[0].Values);
        foreach (var e in events.Skip(1))
        {
            Assert.Null(e.FileVersion);
            Assert.True(e.Values.Count > 0 || e.SessionLog is not null, $"{path}: record {e.Index} carries no summary value or session log");
        }
        return events;
    }

    /// <summary>
    /// What TensorBoard relies on when it reads a HistogramProto: only its seven fields (min, max, num, sum,
    /// sum_squares as 64-bit doubles, then bucket_limit and bucket as packed doubles), each once and in field order
    /// (proto3 leaves a double that is 0 out, so min, max, sum or sum_squares may be absent and read as 0), one count
    /// per right edge, strictly increasing edges, whole non-negative counts adding up to num. TensorBoard draws bucket
    /// i from edge i-1 to edge i, taking min as the left end of the first non-empty bucket and max as the right end of
    /// the last, so min and max must lie in those buckets. Edges are TensorBoard's defaults, so histograms of
    /// different steps line up.
    /// </summary>
    public static void AssertWellFormed(AuditedHistogram h, string tag)
    {
        int[] wireOf = [-1, 1, 1, 1, 1, 1, 2, 2];
        for (int i = 0; i < h.Fields.Count; i++)
        {
            var (field, wire) = h.Fields[i];
            Assert.True(field is >= 1 and <= 7 && wire == wireOf[field], $"{tag}: field {field} with wire type {wire}");
            Assert.True(i == 0 || h.Fields[i - 1].Field < field, $"{tag}: fields {string.Join(" ", h.Fields)} repeat or are out of order");
        }
        Assert.Contains((3, 1), h.Fields);
        Assert.Contains((6, 2), h.Fields);
        Assert.Contains((7, 2), h.Fields);
        Assert.Equal(h.BucketLimit.Count, h.Bucket.Count);
        Assert.NotEmpty(h.Bucket);
        for (int i = 1; i < h.BucketLimit.Count; i++)
            Assert.True(h.BucketLimit[i - 1] < h.BucketLimit[i], $"{tag}: bucket_limit[{i}] = {h.BucketLimit[i]} does not exceed {h.BucketLimit[i - 1]}");
        foreach (var c in h.Bucket) Assert.True(c >= 0 && c == Math.Floor(c), $"{tag}: bucket count {c} is not a whole number >= 0");
        Assert.Equal(h.Num, h.Bucket.Sum());
        Assert.True(h.Min <= h.Max, $"{tag}: min {h.Min} > max {h.Max}");
        int first = h.Bucket.ToList().FindIndex(c => c > 0), last = h.Bucket.ToList().FindLastIndex(c => c > 0);
        Assert.True(h.Min < h.BucketLimit[first] && (first == 0 || h.Min >= h.BucketLimit[first - 1]), $"{tag}: min {h.Min} is outside its bucket");
        Assert.True(h.Max < h.BucketLimit[last] && (last == 0 || h.Max >= h.BucketLimit[last - 1]), $"{tag}: max {h.Max} is outside its bucket");
        var defaults = DefaultEdges();
        foreach (var edge in h.BucketLimit) Assert.True(defaults.Contains(edge), $"{tag}: {edge} is not one of TensorBoard's default edges");
    }

    /// <summary>
    /// TensorBoard's default right edges, built here from their definition: 1e-12 grown by 10 % while below 1e20, then
    /// DBL_MAX; the same negated below zero; and 0.
    /// </summary>
    public static HashSet<double> DefaultEdges()
    {
        var edges = new HashSet<double> { 0.0, double.MaxValue, -double.MaxValue };
        for (double v = 1e-12; v < 1e20; v *= 1.1)
        {
            edges.Add(v);
            edges.Add(-v);
        }
        return edges;
    }

    /// <summary>CRC-32C, bit by bit (reflected Castagnoli polynomial 0x82F63B78), then TFRecord's mask: rotate right 15, add 0xA282EAD8.</summary>
    public static uint MaskedCrc(ReadOnlySpan<byte> data)
    {
        uint crc = Crc32C(data);
        return unchecked(((crc >> 15) | (crc << 17)) + 0xA282EAD8u);
    }

    public static uint Crc32C(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFFu;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
        }
        return ~crc;
    }

    // Event: wall_time 1 (double), step 2 (int64), file_version 3 (string), summary 5 (Summary).
    private static AuditedEvent ParseEvent(int index, byte[] payload, string at)
    {
        double wall = double.NaN;
        long step = 0;
        string? version = null;
        var values = new List<AuditedValue>();
        AuditedSessionLog? session = null;
        var input = new CodedInputStream(payload);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (tag)
            {
                case (1 << 3) | 1: wall = input.ReadDouble(); break;
                case (7 << 3) | 2: session = ParseSessionLog(input.ReadBytes().ToByteArray(), at); break;
                case (2 << 3) | 0: step = input.ReadInt64(); break;
                case (3 << 3) | 2: version = input.ReadString(); break;
                case (5 << 3) | 2: values.AddRange(ParseSummary(input.ReadBytes().ToByteArray(), at)); break;
                default: Assert.Fail($"{at}: unexpected Event field {tag >> 3} (wire type {tag & 7})"); break;
            }
        }
        Assert.False(double.IsNaN(wall), $"{at}: no wall_time");
        return new AuditedEvent(index, wall, step, version, values, session);
    }

    // SessionLog (event.proto): status 1 (enum, varint), checkpoint_path 2, msg 3.
    private static AuditedSessionLog ParseSessionLog(byte[] payload, string at)
    {
        int status = 0;
        string path = "";
        var input = new CodedInputStream(payload);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (tag)
            {
                case (1 << 3) | 0: status = input.ReadEnum(); break;
                case (2 << 3) | 2: path = input.ReadString(); break;
                default: Assert.Fail($"{at}: unexpected SessionLog field {tag >> 3} (wire type {tag & 7})"); break;
            }
        }
        return new AuditedSessionLog(status, path);
    }

    // Summary: value 1 (repeated Value). Value: tag 1, simple_value 2 (float), image 4, histo 5.
    private static List<AuditedValue> ParseSummary(byte[] summary, string at)
    {
        var values = new List<AuditedValue>();
        var input = new CodedInputStream(summary);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            Assert.True(tag == ((1 << 3) | 2), $"{at}: unexpected Summary field {tag >> 3}");
            var value = new CodedInputStream(input.ReadBytes().ToByteArray());
            string? name = null;
            float? scalar = null;
            AuditedImage? image = null;
            AuditedHistogram? histogram = null;
            uint vt;
            while ((vt = value.ReadTag()) != 0)
            {
                switch (vt)
                {
                    case (1 << 3) | 2: name = value.ReadString(); break;
                    case (2 << 3) | 5: scalar = value.ReadFloat(); break;
                    case (4 << 3) | 2: image = ParseImage(value.ReadBytes().ToByteArray()); break;
                    case (5 << 3) | 2: histogram = ParseHistogram(value.ReadBytes().ToByteArray()); break;
                    default: Assert.Fail($"{at}: unexpected Summary.Value field {vt >> 3} (wire type {vt & 7})"); break;
                }
            }
            Assert.False(string.IsNullOrEmpty(name), $"{at}: a value without a tag");
            Assert.True((scalar is null ? 0 : 1) + (image is null ? 0 : 1) + (histogram is null ? 0 : 1) == 1,
                $"{at}: value '{name}' does not hold exactly one of simple_value, image, histo");
            values.Add(new AuditedValue(name!, scalar, image, histogram));
        }
        return values;
    }

    // Image: height 1, width 2, colorspace 3 (int32), encoded_image_string 4 (bytes).
    private static AuditedImage ParseImage(byte[] bytes)
    {
        int h = 0, w = 0, c = 0;
        byte[] encoded = [];
        var input = new CodedInputStream(bytes);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (tag >> 3)
            {
                case 1: h = input.ReadInt32(); break;
                case 2: w = input.ReadInt32(); break;
                case 3: c = input.ReadInt32(); break;
                case 4: encoded = input.ReadBytes().ToByteArray(); break;
                default: Assert.Fail($"unexpected Image field {tag >> 3}"); break;
            }
        }
        return new AuditedImage(h, w, c, encoded);
    }

    // HistogramProto: min 1, max 2, num 3, sum 4, sum_squares 5 (double); bucket_limit 6, bucket 7 (repeated double, packed).
    private static AuditedHistogram ParseHistogram(byte[] bytes)
    {
        var scalars = new double[6];
        var limits = new List<double>();
        var counts = new List<double>();
        var fields = new List<(int, int)>();
        var input = new CodedInputStream(bytes);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            int field = (int)(tag >> 3), wire = (int)(tag & 7);
            fields.Add((field, wire));
            if (field is >= 1 and <= 5 && wire == 1) scalars[field] = input.ReadDouble();
            else if (field is 6 or 7 && wire == 2) (field == 6 ? limits : counts).AddRange(PackedDoubles(input.ReadBytes().ToByteArray()));
            else Assert.Fail($"unexpected HistogramProto field {field} (wire type {wire})");
        }
        return new AuditedHistogram(scalars[1], scalars[2], scalars[3], scalars[4], scalars[5], limits, counts, fields);
    }

    private static IEnumerable<double> PackedDoubles(byte[] bytes)
    {
        Assert.True(bytes.Length % 8 == 0, $"packed doubles of {bytes.Length} bytes");
        for (int i = 0; i < bytes.Length; i += 8) yield return BinaryPrimitives.ReadDoubleLittleEndian(bytes.AsSpan(i));
    }
}
