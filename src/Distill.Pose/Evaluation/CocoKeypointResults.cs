using System.Text.Json;

namespace Distill.Pose.Evaluation;

/// <summary>
/// Reads and writes the COCO keypoint results format: a JSON array of
/// <c>{image_id, category_id, keypoints, score[, bbox]}</c>.
/// </summary>
public static class CocoKeypointResults
{
    public static IReadOnlyList<CocoKeypointResult> Load(string path)
    {
        using var doc = CocoJson.Open(path);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Array)
            throw new FormatException($"{path}: a results file must be a JSON array, found {root.ValueKind}");
        var results = new List<CocoKeypointResult>();
        int index = 0;
        foreach (var item in root.EnumerateArray())
        {
            string where = $"{path}: result {index++}";
            double[]? bbox = item.ValueKind == JsonValueKind.Object && item.TryGetProperty("bbox", out var b)
                && b.ValueKind == JsonValueKind.Array && b.GetArrayLength() > 0
                ? CocoJson.Numbers(b, where + ": key 'bbox'")
                : null;
            results.Add(new CocoKeypointResult(
                ImageId: CocoJson.Int64(item, "image_id", where),
                Keypoints: CocoJson.Numbers(item, "keypoints", where),
                Score: CocoJson.Double(item, "score", where),
                CategoryId: checked((int)CocoJson.Int64(item, "category_id", where)),
                Bbox: bbox));
        }
        return results;
    }

    public static void Save(string path, IEnumerable<CocoKeypointResult> results)
    {
        using var stream = File.Create(path);
        using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        writer.WriteStartArray();
        foreach (var r in results)
        {
            writer.WriteStartObject();
            writer.WriteNumber("image_id", r.ImageId);
            writer.WriteNumber("category_id", r.CategoryId);
            writer.WriteStartArray("keypoints");
            foreach (double v in r.Keypoints) writer.WriteNumberValue(v);
            writer.WriteEndArray();
            writer.WriteNumber("score", r.Score);
            if (r.Bbox is not null)
            {
                writer.WriteStartArray("bbox");
                foreach (double v in r.Bbox) writer.WriteNumberValue(v);
                writer.WriteEndArray();
            }
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
    }
}
