using System.Globalization;
using Distill.Torch.Vision;
using Distill.Training.Logging.Proto;
using Google.Protobuf;

namespace Distill.Training.Logging;

/// <summary>
/// Writes scalars, images and histograms to a TensorBoard event file in <see cref="LogDir"/>
/// (<c>events.out.tfevents.{unix seconds}.{host}.{pid}.{n}</c>). The file is created by the first Add call, beginning
/// with the <c>brain.Event:2</c> version record, so a writer that logs nothing leaves nothing behind.
/// </summary>
/// <remarks>
/// Every record is framed completely in memory and handed to the operating system in a single write, so TensorBoard
/// can follow the file while training runs and a stopped process never leaves half a record. <see cref="Flush"/>
/// additionally forces the data to disk (call it at checkpoints). All members are thread-safe.
/// If a write fails (a full disk, say) the partial bytes are cut off again, an <see cref="IOException"/> naming the
/// file is thrown, and every later call is refused: whether training goes on without TensorBoard is the caller's call.
/// </remarks>
public sealed class SummaryWriter : IDisposable
{
    /// <summary>Version string of the first record; TensorBoard recognises event files by it.</summary>
    public const string FileVersion = "brain.Event:2";

    /// <summary>Every event file name starts with this; TensorBoard only reads files that do.</summary>
    public const string FilePrefix = "events.out.tfevents.";

    // Distinguishes writers created by one process within the same second.
    private static int s_fileCounter = -1;

    private readonly Func<string, Stream> _openFile;
    private readonly Lock _gate = new();
    private Stream? _stream;
    private long _committedLength;
    private string? _failure;
    private bool _disposed;

    /// <summary>Directory the event file goes into (created when needed).</summary>
    public string LogDir { get; }

    /// <summary>Full path of the event file; null until the first record has been written.</summary>
    public string? FilePath { get; private set; }

    public SummaryWriter(string logDir) : this(logDir, OpenEventFile)
    {
    }

    /// <summary>Lets tests substitute the stream the records go to (for example one that fails like a full disk).</summary>
    internal SummaryWriter(string logDir, Func<string, Stream> openFile)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(logDir);
        LogDir = Path.GetFullPath(logDir);
        _openFile = openFile;
    }

    /// <summary>Logs one scalar (stored as a 32-bit float, as TensorBoard does). NaN and infinities are kept.</summary>
    /// <param name="wallTime">Seconds since the Unix epoch; now when null.</param>
    public void AddScalar(string tag, double value, long step, double? wallTime = null)
    {
        var summary = new Summary();
        summary.Value.Add(new Summary.Types.Value { Tag = CheckTag(tag), SimpleValue = (float)value });
        Write(summary, step, wallTime);
    }

    /// <summary>Logs several scalars of one step in a single record; each name is its own tag.</summary>
    public void AddScalars(IReadOnlyDictionary<string, double> scalars, long step, double? wallTime = null)
    {
        ArgumentNullException.ThrowIfNull(scalars);
        if (scalars.Count == 0) throw new ArgumentException("no scalars given", nameof(scalars));
        var summary = new Summary();
        foreach (var (tag, value) in scalars)
            summary.Value.Add(new Summary.Types.Value { Tag = CheckTag(tag), SimpleValue = (float)value });
        Write(summary, step, wallTime);
    }

    /// <summary>Logs an already encoded PNG image; its header must agree with <paramref name="height"/> and <paramref name="width"/>.</summary>
    public void AddImage(string tag, byte[] png, int height, int width, long step, double? wallTime = null)
    {
        ArgumentNullException.ThrowIfNull(png);
        var header = PngHeader.TryRead(png)
            ?? throw new ArgumentException($"image '{tag}': the bytes are not a PNG (no PNG signature and IHDR chunk)", nameof(png));
        if (header.Height != height || header.Width != width)
            throw new ArgumentException(
                $"image '{tag}': the PNG is {header.Width}x{header.Height} (w x h) but {width}x{height} was given", nameof(png));
        var image = new Summary.Types.Image
        {
            Height = height,
            Width = width,
            Colorspace = header.Colorspace,
            EncodedImageString = ByteString.CopyFrom(png),
        };
        var summary = new Summary();
        summary.Value.Add(new Summary.Types.Value { Tag = CheckTag(tag), Image = image });
        Write(summary, step, wallTime);
    }

    /// <summary>Encodes <paramref name="image"/> as PNG and logs it.</summary>
    public void AddImage(string tag, Image image, long step, double? wallTime = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        AddImage(tag, image.EncodePng(), image.Height, image.Width, step, wallTime);
    }

    /// <summary>Logs the distribution of <paramref name="values"/> in TensorBoard's default buckets (see <see cref="HistogramBuckets"/>).</summary>
    /// <exception cref="ArgumentException">No values, or a value that is NaN or infinite.</exception>
    public void AddHistogram(string tag, ReadOnlySpan<float> values, long step, double? wallTime = null)
    {
        HistogramProto histogram;
        try
        {
            histogram = HistogramBuckets.Build(values);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"histogram '{tag}' at step {step}: {e.Message}", nameof(values), e);
        }
        var summary = new Summary();
        summary.Value.Add(new Summary.Types.Value { Tag = CheckTag(tag), Histo = histogram });
        Write(summary, step, wallTime);
    }

    /// <summary>
    /// Marks a restart at <paramref name="step"/> (the first step the resumed run will log). TensorBoard discards the
    /// events of earlier files with a step at or after it: those were logged after the checkpoint the run resumed from.
    /// </summary>
    public void AddSessionStart(long step, string? checkpointPath = null, double? wallTime = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        var log = new SessionLog { Status = SessionLog.Types.SessionStatus.Start, CheckpointPath = checkpointPath ?? "" };
        WriteEvent(new Event { WallTime = wallTime ?? Now(), Step = step, SessionLog = log });
    }

    /// <summary>Forces everything written so far onto the disk. Does nothing before the first record.</summary>
    public void Flush()
    {
        lock (_gate)
        {
            ThrowIfUnusable();
            if (_stream is not null) FlushToDisk();
        }
    }

    /// <summary>Flushes to disk and closes the file. Later calls throw <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            if (_stream is null) return; // never written, or already closed by a failure
            try
            {
                FlushToDisk();
            }
            finally
            {
                _stream?.Dispose();
                _stream = null;
            }
        }
    }

    private void Write(Summary summary, long step, double? wallTime) =>
        WriteEvent(new Event { WallTime = wallTime ?? Now(), Step = step, Summary = summary });

    private void WriteEvent(Event evt)
    {
        byte[] record = TfRecord.Encode(evt.ToByteArray());
        lock (_gate)
        {
            ThrowIfUnusable();
            if (_stream is null)
            {
                // The version record and the first event reach the file in one write: the file never exists empty.
                var version = new Event { WallTime = evt.WallTime, FileVersion = FileVersion };
                byte[] first = TfRecord.Encode(version.ToByteArray());
                Open();
                Append([.. first, .. record]);
            }
            else
            {
                Append(record);
            }
        }
    }

    private void Open()
    {
        long seconds = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        string host = Environment.MachineName;
        int pid = Environment.ProcessId;
        try
        {
            Directory.CreateDirectory(LogDir);
            while (true)
            {
                int n = Interlocked.Increment(ref s_fileCounter);
                string path = Path.Combine(LogDir, string.Create(CultureInfo.InvariantCulture, $"{FilePrefix}{seconds}.{host}.{pid}.{n}"));
                if (File.Exists(path)) continue;
                FilePath = path;
                _stream = _openFile(path);
                _committedLength = 0;
                return;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _failure = $"could not create an event file in '{LogDir}': {e.Message}";
            throw new IOException($"TensorBoard log directory '{LogDir}': {e.Message}", e);
        }
    }

    private void Append(byte[] bytes)
    {
        try
        {
            _stream!.Write(bytes);
            _committedLength += bytes.Length;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Fail(e);
        }
    }

    private void FlushToDisk()
    {
        try
        {
            if (_stream is FileStream file) file.Flush(flushToDisk: true);
            else _stream!.Flush();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Fail(e);
        }
    }

    /// <summary>Puts the writer into the refusing state, removes any partial record, and builds the exception to throw.</summary>
    private IOException Fail(Exception cause)
    {
        string path = FilePath ?? LogDir;
        _failure = $"writing '{path}' failed earlier ({cause.Message}); no more events are accepted";
        if (_stream is not null)
        {
            try
            {
                if (_stream.CanSeek && _stream.Length > _committedLength) _stream.SetLength(_committedLength);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
            {
                // The disk is already failing; the reader reports a cut-off last record if this did not work.
            }
            try
            {
                _stream.Dispose();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Same: the original error is the one worth reporting.
            }
            _stream = null;
            if (_committedLength == 0 && FilePath is not null)
            {
                try
                {
                    File.Delete(FilePath);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // An empty leftover file is harmless to TensorBoard.
                }
            }
        }
        return new IOException($"TensorBoard event file '{path}': {cause.Message}", cause);
    }

    private void ThrowIfUnusable()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_failure is not null) throw new InvalidOperationException($"SummaryWriter: {_failure}");
    }

    private static string CheckTag(string tag)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tag);
        return tag;
    }

    private static double Now() => (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).TotalSeconds;

    // Unbuffered: each Write call is one write to the operating system, so whole records appear at once.
    private static Stream OpenEventFile(string path) =>
        new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read | FileShare.Delete, bufferSize: 0);
}
