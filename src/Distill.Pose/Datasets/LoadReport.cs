using System.Text;

namespace Distill.Pose.Datasets;

/// <summary>
/// What a reader did with each record of a file: how many became instances, how many were skipped and why.
/// Routine filters (crowd, no keypoints, other category, low score) are counted; records skipped because
/// something is wrong with them are also listed one by one in <see cref="Problems"/>.
/// </summary>
public sealed class LoadReport
{
    private readonly Dictionary<SkipReason, int> _counts = new();
    private readonly List<SkippedRecord> _problems = new();
    private readonly SortedDictionary<long, int> _unknownImages = new();

    public LoadReport(string filePath) => FilePath = filePath;

    public string FilePath { get; }

    /// <summary>Records examined (annotations, MPII records or detections).</summary>
    public int RecordsRead { get; internal set; }

    /// <summary>Records that became instances.</summary>
    public int Loaded { get; internal set; }

    /// <summary>Skip counts by reason (reasons with no skip are absent).</summary>
    public IReadOnlyDictionary<SkipReason, int> SkipCounts => _counts;

    public int Skipped(SkipReason reason) => _counts.GetValueOrDefault(reason);

    public int TotalSkipped => _counts.Values.Sum();

    /// <summary>Records skipped for a defect (malformed, non-finite, degenerate or outside box, unknown image).</summary>
    public IReadOnlyList<SkippedRecord> Problems => _problems;

    /// <summary>Image ids referred to by records but absent from the image list, with how many records named each.</summary>
    public IReadOnlyDictionary<long, int> UnknownImageIds => _unknownImages;

    internal void Count(SkipReason reason) => _counts[reason] = _counts.GetValueOrDefault(reason) + 1;

    internal void Problem(string record, SkipReason reason, string message)
    {
        Count(reason);
        _problems.Add(new SkippedRecord(record, reason, message));
    }

    /// <summary>Counts and lists a malformed record skipped under skip-bad.</summary>
    internal void BadRecord(DatasetException e, string fallbackRecord) =>
        Problem(e.Record ?? fallbackRecord, SkipReason.BadRecord, e.Key is null ? e.Detail : $"'{e.Key}': {e.Detail}");

    /// <summary>Counts a record naming an unknown image; with <paramref name="record"/> it is also listed.</summary>
    internal void UnknownImage(long imageId, string? record = null, string? message = null)
    {
        Count(SkipReason.UnknownImage);
        _unknownImages[imageId] = _unknownImages.GetValueOrDefault(imageId) + 1;
        if (record is not null) _problems.Add(new SkippedRecord(record, SkipReason.UnknownImage, message ?? $"image {imageId} is unknown"));
    }

    /// <summary>Sums several reports (e.g. the sources of a combined dataset) under one label.</summary>
    public static LoadReport Merge(string label, IEnumerable<LoadReport> reports)
    {
        var merged = new LoadReport(label);
        foreach (var r in reports)
        {
            merged.RecordsRead += r.RecordsRead;
            merged.Loaded += r.Loaded;
            foreach (var (reason, n) in r._counts) merged._counts[reason] = merged._counts.GetValueOrDefault(reason) + n;
            merged._problems.AddRange(r._problems.Select(p => p with { Record = $"{r.FilePath}: {p.Record}" }));
            foreach (var (id, n) in r._unknownImages) merged._unknownImages[id] = merged._unknownImages.GetValueOrDefault(id) + n;
        }
        return merged;
    }

    public override string ToString()
    {
        var sb = new StringBuilder($"{FilePath}: {RecordsRead} records, {Loaded} loaded");
        foreach (var (reason, n) in _counts.OrderBy(kv => kv.Key)) sb.Append($", {n} {reason}");
        if (_unknownImages.Count > 0)
            sb.Append("; unknown image ids: ").Append(string.Join(", ", _unknownImages.Select(kv => $"{kv.Key} (x{kv.Value})")));
        return sb.ToString();
    }
}
