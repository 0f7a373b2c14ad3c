using System.Text.Json;
using Distill.Pose.Datasets.Json;

namespace Distill.Pose.Datasets;

/// <summary>
/// Reads person detections in COCO results format: a JSON list of {image_id, bbox [x, y, w, h], score, category_id}.
/// </summary>
public static class PersonDetectionReader
{
    /// <summary>
    /// Keeps detections of <paramref name="personCategoryId"/> scoring at least <paramref name="scoreThreshold"/>.
    /// Entries for images outside <paramref name="knownImageIds"/> (when given) are skipped and counted per image id
    /// in <see cref="LoadReport.UnknownImageIds"/>: a detection file made for a larger image set is normal.
    /// Boxes are kept as written, unclipped, as mmpose does (its bbox_xywh2xyxy is x2 = x + w, y2 = y + h), except
    /// empty ones (w or h &lt;= 0), which cannot be cropped.
    /// Malformed entries are errors unless <paramref name="skipBad"/>.
    /// </summary>
    public static PersonDetections Read(string path, float scoreThreshold = 0f, IReadOnlySet<long>? knownImageIds = null,
                                        bool skipBad = false, long personCategoryId = 1)
    {
        var report = new LoadReport(path);
        var kept = new List<PersonDetection>();
        using var doc = JsonFile.Parse(path);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Array)
            throw new DatasetException(path, null, null, null, $"expected a JSON list of detections, found {JsonRecord.Describe(root)}");

        int index = 0;
        foreach (var element in root.EnumerateArray())
        {
            report.RecordsRead++;
            try
            {
                var r = new JsonRecord(path, "detections", index, element, idKey: "image_id");
                long imageId = r.Long("image_id");
                double[] box = r.Numbers("bbox", 4);
                double score = r.Number("score");
                long category = r.Long("category_id");

                if (category != personCategoryId) report.Count(SkipReason.OtherCategory);
                else if (!box.All(double.IsFinite) || !double.IsFinite(score))
                    report.Problem(r.Label, SkipReason.NonFinite, "NaN or infinite value in bbox or score");
                else if (knownImageIds is not null && !knownImageIds.Contains(imageId)) report.UnknownImage(imageId);
                else if (score < scoreThreshold) report.Count(SkipReason.BelowScoreThreshold);
                else if (box[2] <= 0 || box[3] <= 0)
                    report.Problem(r.Label, SkipReason.DegenerateBox, $"empty box [{string.Join(", ", box)}]");
                else
                {
                    kept.Add(new PersonDetection(index, imageId,
                        new BoundingBox((float)box[0], (float)box[1], (float)box[2], (float)box[3]), (float)score, category));
                    report.Loaded++;
                }
            }
            catch (DatasetException e) when (skipBad)
            {
                report.BadRecord(e, $"detections[{index}]");
            }
            index++;
        }
        return new PersonDetections(kept, report);
    }
}
