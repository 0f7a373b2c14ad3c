namespace Distill.Pose.Datasets;

/// <summary>
/// An annotation file that cannot be used: unreadable, malformed JSON, or a record with a missing field or a wrong
/// type. The message names the file, the record (section, index and id) and the key.
/// </summary>
public sealed class DatasetException : Exception
{
    public string FilePath { get; }

    /// <summary>e.g. <c>annotations[3] (id 442619)</c>; null for file-level problems.</summary>
    public string? Record { get; }

    /// <summary>Index of the record in its section, when known.</summary>
    public int? RecordIndex { get; }

    public string? Key { get; }

    /// <summary>1-based line of a JSON syntax error.</summary>
    public long? Line { get; }

    /// <summary>1-based byte position within <see cref="Line"/> of a JSON syntax error.</summary>
    public long? BytePositionInLine { get; }

    /// <summary>The problem itself, without the file and record prefix.</summary>
    public string Detail { get; }

    public DatasetException(string filePath, string? record, int? recordIndex, string? key, string detail,
                            Exception? inner = null, long? line = null, long? bytePositionInLine = null)
        : base(Compose(filePath, record, key, detail), inner)
    {
        FilePath = filePath;
        Record = record;
        RecordIndex = recordIndex;
        Key = key;
        Detail = detail;
        Line = line;
        BytePositionInLine = bytePositionInLine;
    }

    private static string Compose(string file, string? record, string? key, string detail)
    {
        string where = file;
        if (record is not null) where += ": " + record;
        if (key is not null) where += $": '{key}'";
        return $"{where}: {detail}";
    }
}
