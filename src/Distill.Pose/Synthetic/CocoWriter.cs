using System.Text.Json;

namespace Distill.Pose.Synthetic;

/// <summary>A COCO-style keypoint layout: which joints, named how, and the dataset's own conventions.</summary>
/// <param name="VisibleCount">num_keypoints counts visible joints only (CrowdPose), not all labelled ones (COCO).</param>
/// <param name="CrowdIndex">Images carry CrowdPose's crowdIndex.</param>
internal sealed record CocoStyle(string Description, (string Name, string Joint)[] Keypoints, int[][] Skeleton,
    bool VisibleCount = false, bool CrowdIndex = false)
{
    public BodyJoint[] Joints { get; } = Keypoints.Select(e => BodyModel.Find(e.Joint)).ToArray();

    public static CocoStyle Coco { get; } = new("Distill synthetic persons (COCO person keypoints layout)", ExportTables.Coco, ExportTables.CocoSkeleton);

    /// <summary>AI Challenger as mmpose converts it to COCO's layout (visibility 2 visible, 1 occluded, 0 unlabelled).</summary>
    public static CocoStyle Aic { get; } = new("Distill synthetic persons (AI Challenger keypoints, COCO layout)", ExportTables.Aic, ExportTables.AicSkeleton);

    public static CocoStyle CrowdPose { get; } = new("Distill synthetic persons (CrowdPose layout)", ExportTables.CrowdPose, ExportTables.CrowdPoseSkeleton,
        VisibleCount: true, CrowdIndex: true);
}

/// <summary>
/// Writes a COCO person-keypoints annotation file (or another dataset's file in COCO's layout, see
/// <see cref="CocoStyle"/>). Keypoints of unlabelled joints are (0, 0, 0) as in COCO; the box is the tight box of the
/// visible pixels and the area their count.
/// </summary>
internal static class CocoWriter
{
    /// <summary>Writes the file and returns the number of annotations. Image ids are 1 + the image index and
    /// annotation ids continue from <paramref name="nextAnnotationId"/>.</summary>
    public static int Write(string path, IReadOnlyList<RenderedImage> images, ref long nextAnnotationId) =>
        Write(path, images, ref nextAnnotationId, CocoStyle.Coco);

    public static int Write(string path, IReadOnlyList<RenderedImage> images, ref long nextAnnotationId, CocoStyle style)
    {
        using var stream = File.Create(path);
        using var w = new Utf8JsonWriter(stream);
        w.WriteStartObject();
        w.WriteStartObject("info");
        w.WriteString("description", style.Description);
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
            if (style.CrowdIndex)
            {
                w.WritePropertyName("crowdIndex");
                JsonNumbers.Write(w, CrowdIndex(img, style.Joints), 4);
            }
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
                foreach (var j in style.Joints)
                {
                    int v = p.V[(int)j];
                    JsonNumbers.Write(w, v > 0 ? p.X[(int)j] : 0);
                    JsonNumbers.Write(w, v > 0 ? p.Y[(int)j] : 0);
                    w.WriteNumberValue(v);
                    if (style.VisibleCount ? v == 2 : v > 0) labelled++;
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
        foreach (var (name, _) in style.Keypoints) w.WriteStringValue(name);
        w.WriteEndArray();
        w.WriteStartArray("skeleton");
        foreach (var link in style.Skeleton)
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

    /// <summary>
    /// CrowdPose's crowd index of an image: the mean over its people of (labelled joints of other people inside the
    /// person's box) / (the person's own labelled joints); 0 for an image with one person.
    /// </summary>
    public static double CrowdIndex(RenderedImage img, BodyJoint[] joints)
    {
        var people = img.Persons.Where(p => p.Labelled(joints) > 0).ToList();
        if (people.Count == 0) return 0;
        double sum = 0;
        foreach (var a in people)
        {
            var (x, y, bw, bh) = a.Box;
            int others = 0;
            foreach (var b in people)
            {
                if (ReferenceEquals(a, b)) continue;
                foreach (var j in joints)
                    if (b.V[(int)j] > 0 && b.X[(int)j] >= x && b.X[(int)j] <= x + bw && b.Y[(int)j] >= y && b.Y[(int)j] <= y + bh) others++;
            }
            sum += (double)others / a.Labelled(joints);
        }
        return sum / people.Count;
    }
}
