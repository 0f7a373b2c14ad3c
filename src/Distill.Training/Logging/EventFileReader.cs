using Distill.Training.Logging.Proto;
using Google.Protobuf;

namespace Distill.Training.Logging;

/// <summary>
/// Reads TensorBoard event files back: every record's CRCs are checked and every payload is parsed as an
/// <see cref="Event"/>. Damage is reported as <see cref="InvalidDataException"/> with the file, record index and offset.
/// </summary>
public static class EventFileReader
{
    /// <summary>The events of <paramref name="path"/> in file order (lazily; the file stays open while enumerating).</summary>
    public static IEnumerable<Event> ReadEvents(string path)
    {
        using var reader = TfRecordReader.Open(path);
        while (true)
        {
            long index = reader.RecordIndex, offset = reader.Offset;
            if (!reader.TryReadNext(out var payload)) yield break;
            Event evt;
            try
            {
                evt = Event.Parser.ParseFrom(payload);
            }
            catch (InvalidProtocolBufferException e)
            {
                throw new InvalidDataException($"{path}: record {index} at byte {offset}: not an Event message: {e.Message}", e);
            }
            yield return evt;
        }
    }

    /// <summary>Every scalar value in <paramref name="path"/>, in file order.</summary>
    public static IReadOnlyList<ScalarPoint> ReadScalars(string path)
    {
        var points = new List<ScalarPoint>();
        foreach (var evt in ReadEvents(path))
        {
            if (evt.Summary is null) continue;
            foreach (var value in evt.Summary.Value)
                if (value.ValueCase == Summary.Types.Value.ValueOneofCase.SimpleValue)
                    points.Add(new ScalarPoint(value.Tag, evt.Step, value.SimpleValue, evt.WallTime));
        }
        return points;
    }

    /// <summary>Event files directly inside <paramref name="logDir"/>, ordered by name (which starts with the creation time).</summary>
    public static IReadOnlyList<string> FindEventFiles(string logDir)
    {
        if (!Directory.Exists(logDir)) throw new DirectoryNotFoundException($"log directory '{logDir}' does not exist");
        var files = Directory.GetFiles(logDir, SummaryWriter.FilePrefix + "*");
        Array.Sort(files, StringComparer.Ordinal);
        return files;
    }
}
