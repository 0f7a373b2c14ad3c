using System.Buffers;
using System.Text.Json;

namespace Distill.Training.Logging;

/// <summary>
/// Appends one JSON object per line to <c>metrics.jsonl</c>:
/// <c>{"step":1200,"epoch":3,"wall_time":1718000000.25,"loss":0.0123,"ap":0.61}</c>.
/// Metrics sit beside step, epoch and wall_time at the top level, so tools such as jq or pandas read the file
/// without unpacking. Numbers are written culture-independently in their shortest round-trip form; NaN and infinities,
/// which JSON numbers cannot hold, are written as the strings "NaN", "Infinity" and "-Infinity".
/// </summary>
/// <remarks>
/// The file is opened for appending on the first <see cref="Log"/> call (a resumed run continues the same file), and
/// each line reaches the operating system in one write, so a reader never sees half a line. Thread-safe. A failed
/// write throws an <see cref="IOException"/> naming the file and makes every later call throw.
/// </remarks>
public sealed class MetricsLog : IDisposable
{
    public const string FileName = "metrics.jsonl";

    private static readonly HashSet<string> ReservedNames = ["step", "epoch", "wall_time"];

    private readonly Func<string, Stream> _openFile;
    private readonly Lock _gate = new();
    private readonly ArrayBufferWriter<byte> _line = new(256);
    private Stream? _stream;
    private string? _failure;
    private bool _disposed;

    /// <summary>Full path of the metrics file.</summary>
    public string Path { get; }

    /// <summary>Logs to <c>metrics.jsonl</c> inside <paramref name="logDir"/>.</summary>
    public MetricsLog(string logDir) : this(logDir, OpenForAppend)
    {
    }

    internal MetricsLog(string logDir, Func<string, Stream> openFile)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(logDir);
        Path = System.IO.Path.GetFullPath(System.IO.Path.Combine(logDir, FileName));
        _openFile = openFile;
    }

    /// <summary>Appends one line.</summary>
    /// <param name="wallTime">Seconds since the Unix epoch; now when null.</param>
    /// <exception cref="ArgumentException">A metric named step, epoch or wall_time, or an empty name.</exception>
    public void Log(long step, int epoch, IReadOnlyDictionary<string, double> metrics, double? wallTime = null)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        foreach (var name in metrics.Keys)
        {
            if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("a metric name is empty", nameof(metrics));
            if (ReservedNames.Contains(name))
                throw new ArgumentException($"metric name '{name}' is reserved for the line's own field", nameof(metrics));
        }
        double time = wallTime ?? (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).TotalSeconds;

        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_failure is not null) throw new InvalidOperationException($"MetricsLog: {_failure}");

            _line.ResetWrittenCount();
            using (var json = new Utf8JsonWriter(_line))
            {
                json.WriteStartObject();
                json.WriteNumber("step", step);
                json.WriteNumber("epoch", epoch);
                WriteValue(json, "wall_time", time);
                foreach (var (name, value) in metrics) WriteValue(json, name, value);
                json.WriteEndObject();
            }
            _line.Write("\n"u8);

            try
            {
                _stream ??= Open();
                long before = _stream.CanSeek ? _stream.Length : -1;
                try
                {
                    _stream.Write(_line.WrittenSpan);
                    _stream.Flush();
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    CutBack(before);
                    throw;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                _failure = $"writing '{Path}' failed earlier ({e.Message}); no more lines are accepted";
                _stream?.Dispose();
                _stream = null;
                throw new IOException($"metrics log '{Path}': {e.Message}", e);
            }
        }
    }

    /// <summary>
    /// Removes the records at <paramref name="step"/> and later (what a run logged after the checkpoint it is resumed
    /// from), and a line cut off by a crash; the file is replaced atomically. Must come before the next <see cref="Log"/>.
    /// </summary>
    public void DropFrom(long step)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _stream?.Dispose();
            _stream = null;
            if (!File.Exists(Path)) return;
            var kept = new List<string>();
            bool changed = false;
            foreach (string line in File.ReadLines(Path))
            {
                if (string.IsNullOrWhiteSpace(line)) continue;
                MetricsRecord? record = null;
                try { record = ParseLine(line); }
                catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException) { }
                if (record is null || record.Step >= step)
                {
                    changed = true;
                    continue;
                }
                kept.Add(line);
            }
            if (!changed) return;
            string temp = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(Path)!, $".{FileName}.{Guid.NewGuid():N}.tmp");
            File.WriteAllLines(temp, kept);
            File.Move(temp, Path, overwrite: true);
        }
    }

    /// <summary>Reads every line of a metrics file.</summary>
    /// <exception cref="InvalidDataException">A line that is not such an object, naming the file and line number.</exception>
    public static IReadOnlyList<MetricsRecord> Read(string path)
    {
        var records = new List<MetricsRecord>();
        int lineNumber = 0;
        foreach (string line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            try
            {
                records.Add(ParseLine(line));
            }
            catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
            {
                throw new InvalidDataException($"{path}:{lineNumber}: {e.Message}", e);
            }
        }
        return records;
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            _stream?.Dispose();
            _stream = null;
        }
    }

    private static MetricsRecord ParseLine(string line)
    {
        using var doc = JsonDocument.Parse(line);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw new FormatException($"expected a JSON object, found {root.ValueKind}");
        long? step = null;
        int? epoch = null;
        double? wallTime = null;
        var metrics = new Dictionary<string, double>();
        foreach (var property in root.EnumerateObject())
        {
            switch (property.Name)
            {
                case "step": step = property.Value.GetInt64(); break;
                case "epoch": epoch = property.Value.GetInt32(); break;
                case "wall_time": wallTime = ReadValue(property); break;
                default: metrics[property.Name] = ReadValue(property); break;
            }
        }
        return new MetricsRecord(
            step ?? throw new FormatException("missing \"step\""),
            epoch ?? throw new FormatException("missing \"epoch\""),
            wallTime ?? throw new FormatException("missing \"wall_time\""),
            metrics);
    }

    private static double ReadValue(JsonProperty property) => property.Value.ValueKind switch
    {
        JsonValueKind.Number => property.Value.GetDouble(),
        JsonValueKind.String when property.Value.GetString() is "NaN" => double.NaN,
        JsonValueKind.String when property.Value.GetString() is "Infinity" => double.PositiveInfinity,
        JsonValueKind.String when property.Value.GetString() is "-Infinity" => double.NegativeInfinity,
        _ => throw new FormatException($"\"{property.Name}\" is {property.Value.GetRawText()}, not a number"),
    };

    private static void WriteValue(Utf8JsonWriter json, string name, double value)
    {
        if (double.IsFinite(value)) json.WriteNumber(name, value);
        else json.WriteString(name, double.IsNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity");
    }

    private Stream Open()
    {
        string? dir = System.IO.Path.GetDirectoryName(Path);
        if (dir is not null) Directory.CreateDirectory(dir);
        var stream = _openFile(Path);
        // A line cut off by an earlier crash must not swallow the first new line.
        if (stream.CanSeek && stream.Length > 0 && !EndsWithNewline(Path)) stream.Write("\n"u8);
        return stream;
    }

    private void CutBack(long length)
    {
        try
        {
            if (length >= 0 && _stream!.Length > length) _stream.SetLength(length);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            // The disk is already failing; the reader reports the damaged last line if this did not work.
        }
    }

    private static bool EndsWithNewline(string path)
    {
        using var read = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        if (read.Length == 0) return true;
        read.Seek(-1, SeekOrigin.End);
        return read.ReadByte() == '\n';
    }

    private static Stream OpenForAppend(string path) =>
        new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read | FileShare.Delete, bufferSize: 0);
}
