using System.Text.Json;

namespace Distill.Pose.Synthetic;

/// <summary>
/// Writes a COCO person-keypoints annotation file. Keypoints of unlabelled joints are (0, 0, 0) as in COCO;
/// the box is the tight box of the visible pixels and the area their count.
/// </summary>
internal static class CocoWriter
{
    /// <summary>Writes the file and returns the number of annotations. Image ids are 1 + the image index and
    /// annotation ids continue from <paramref name="nextAnnotationId"/>.</summary>
    public static int Write(string path, IReadOnlyList<RenderedImage> images, ref long nextAnnotationId)
    {
        using var stream = File.Create(path);
        using var w = new Utf8JsonWriter(stream);
        w.WriteStartObject();
        w.WriteStartObject("info");
        w.WriteString("description", "Distill synthetic persons (COCO person keypoints layout)");
        w.WriteString("version", "1.0");
        w.WriteEndObject();
        w.WriteStartArray("licenses");
        w.WriteEndArray();

        w.WriteStartArray("images");
        foreach (var img in images)
        {
            w.WriteStartObject();
            w.WriteNumber("id", img.Index + 1);
            w.WriteString("file_name", img.FileName);
            w.WriteNumber("width", img.Width);
            w.WriteNumber("height", img.Height);
            w.WriteEndObject();
        }
        w.WriteEndArray();

        int count = 0;
        w.WriteStartArray("annotations");
        foreach (var img in images)
        {
            foreach (var p in img.Persons)
            {
                w.WriteStartObject();
                w.WriteNumber("id", nextAnnotationId++);
                w.WriteNumber("image_id", img.Index + 1);
                w.WriteNumber("category_id", 1);
                JsonNumbers.WriteArray(w, "bbox", p.Box.X, p.Box.Y, p.Box.W, p.Box.H);
                w.WriteNumber("area", p.Area);
                w.WriteNumber("iscrowd", 0);
                w.WriteStartArray("keypoints");
                int labelled = 0;
                foreach (var j in ExportTables.CocoJoints)
                {
                    int v = p.V[(int)j];
                    JsonNumbers.Write(w, v > 0 ? p.X[(int)j] : 0);
                    JsonNumbers.Write(w, v > 0 ? p.Y[(int)j] : 0);
                    w.WriteNumberValue(v);
                    if (v > 0) labelled++;
                }
                w.WriteEndArray();
                w.WriteNumber("num_keypoints", labelled);
                w.WriteEndObject();
                count++;
            }
        }
        w.WriteEndArray();

        w.WriteStartArray("categories");
        w.WriteStartObject();
        w.WriteNumber("id", 1);
        w.WriteString("name", "person");
        w.WriteString("supercategory", "person");
        w.WriteStartArray("keypoints");
        foreach (var (name, _) in ExportTables.Coco) w.WriteStringValue(name);
        w.WriteEndArray();
        w.WriteStartArray("skeleton");
        foreach (var link in ExportTables.CocoSkeleton)
        {
            w.WriteStartArray();
            w.WriteNumberValue(link[0]);
            w.WriteNumberValue(link[1]);
            w.WriteEndArray();
        }
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteEndObject();
        return count;
    }
}
