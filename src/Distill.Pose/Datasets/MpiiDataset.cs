using System.Globalization;
using System.Numerics;
using System.Text.Json;
using Distill.Pose.Datasets.Json;
using Distill.Pose.Keypoints;

namespace Distill.Pose.Datasets;

/// <summary>
/// MPII annotations in mmpose's JSON layout: a list of {image, center [x, y], scale, joints [[x, y] x K],
/// joints_vis [K]}, optionally with headboxes [x1, y1, x2, y2] (or [[x1, y1], [x2, y2]]). One instance per record.
/// </summary>
/// <remarks>
/// The box follows mmpose: scale is in units of 200 px, so the box is a square of side s = scale x 200. When
/// centre x != -1 the centre moves down by 15/200 x s (MPII centres sit high on the torso); then the centre moves by
/// -1 on both axes (MATLAB's 1-based pixels to 0-based). Joints are not shifted, as in mmpose, and neither are head
/// boxes. Area (for OKS) = s x s x 0.53. Image ids are the numeric image names (as mmpose), or running numbers in
/// order of first appearance when some name is not numeric. joints_vis 1 becomes visibility 2 (MPII records whether
/// a joint is labelled, not whether it is occluded).
/// </remarks>
public sealed class MpiiDataset : PoseDataset
{
    /// <summary>MPII's box unit in pixels.</summary>
    public const double PixelStd = 200.0;

    /// <summary>Ratio of OKS area to box area used for MPII.</summary>
    public const double AreaRatio = 0.53;

    private readonly List<PoseInstance> _instances;

    public override string Name { get; }
    public override KeypointSet KeypointSet { get; }
    public override int Count => _instances.Count;
    public override PoseInstance this[int index] => _instances[index];
    public override IReadOnlyList<ImageInfo> Images { get; }
    public override LoadReport Report { get; }
    public string AnnotationPath { get; }

    private MpiiDataset(string name, KeypointSet set, string path, List<PoseInstance> instances, List<ImageInfo> images, LoadReport report)
    {
        Name = name;
        KeypointSet = set;
        AnnotationPath = path;
        _instances = instances;
        Images = images;
        Report = report;
    }

    public static MpiiDataset Load(string annotationPath, MpiiLoadOptions? options = null)
    {
        options ??= new MpiiLoadOptions();
        if (options.HeadBoxes is not null && options.HeadBoxLookup is not null)
            throw new ArgumentException("give head boxes either as a list or as a lookup, not both");
        var set = options.KeypointSet ?? KeypointSet.FromName("mpii16");
        string imageRoot = options.ImageRoot ?? Path.GetDirectoryName(Path.GetFullPath(annotationPath))!;
        var report = new LoadReport(annotationPath);

        using var doc = JsonFile.Parse(annotationPath);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Array)
            throw new DatasetException(annotationPath, null, null, null, $"expected a JSON list of records, found {JsonRecord.Describe(root)}");
        int records = root.GetArrayLength();
        if (options.HeadBoxes is not null && options.HeadBoxes.Count != records)
            throw new DatasetException(annotationPath, null, null, "headboxes",
                $"{options.HeadBoxes.Count} head boxes were supplied for {records} records");

        var parsed = new List<(PoseInstance Instance, string Image)>();
        int index = 0;
        foreach (var element in root.EnumerateArray())
        {
            report.RecordsRead++;
            try
            {
                var r = new JsonRecord(annotationPath, "records", index, element, idKey: "image");
                var instance = ReadRecord(r, set, imageRoot, options, report);
                if (instance is not null) parsed.Add((instance, r.String("image")));
            }
            catch (DatasetException e) when (options.SkipBad)
            {
                report.BadRecord(e, $"records[{index}]");
            }
            index++;
        }

        // Image ids: numeric names as mmpose does (int of the stem), unless some name is not numeric.
        var names = parsed.Select(p => p.Image).Distinct(StringComparer.Ordinal).ToList();
        var ids = new Dictionary<string, long>(StringComparer.Ordinal);
        bool numeric = names.All(n => long.TryParse(Path.GetFileNameWithoutExtension(n), NumberStyles.None, CultureInfo.InvariantCulture, out _));
        for (int i = 0; i < names.Count; i++)
            ids[names[i]] = numeric ? long.Parse(Path.GetFileNameWithoutExtension(names[i]), CultureInfo.InvariantCulture) : i;
        var images = names.Select(n => new ImageInfo(ids[n], n, Path.GetFullPath(Path.Combine(imageRoot, n)), 0, 0)).ToList();
        var instances = parsed.Select(p => p.Instance with { ImageId = ids[p.Image] }).ToList();
        report.Loaded = instances.Count;
        return new MpiiDataset(options.SourceName, set, annotationPath, instances, images, report);
    }

    private static PoseInstance? ReadRecord(JsonRecord r, KeypointSet set, string imageRoot, MpiiLoadOptions options, LoadReport report)
    {
        int k = set.Count;
        string image = r.String("image");
        double[] center = r.Numbers("center", 2);
        double scale = r.Number("scale");
        double[] joints = r.NumberRows("joints", k, 2);
        double[] vis = r.Numbers("joints_vis", k);
        BoundingBox? head = ReadHeadBox(r, options);
        string imagePath = ImagePaths.Resolve(r, "image", imageRoot, image, options.AllowOutsideRoot);
        if (options.ExcludedImages?.Contains(imagePath) == true)
        {
            report.Count(SkipReason.BadImage);
            return null;
        }

        if (!center.All(double.IsFinite) || !double.IsFinite(scale) || !joints.All(double.IsFinite) || !vis.All(double.IsFinite)
            || (head is BoundingBox hb && !hb.IsFinite))
        {
            report.Problem(r.Label, SkipReason.NonFinite, "NaN or infinite value in center, scale, joints, joints_vis or headboxes");
            return null;
        }
        double side = scale * PixelStd;
        if (side <= 1)
        {
            report.Problem(r.Label, SkipReason.DegenerateBox, $"scale {scale} gives a box side of {side} px");
            return null;
        }

        var (cx, cy) = BoxCenter(center[0], center[1], side);
        var keypoints = new float[2 * k];
        var visibility = new float[k];
        int labelled = 0;
        for (int j = 0; j < k; j++)
        {
            keypoints[2 * j] = (float)joints[2 * j];
            keypoints[2 * j + 1] = (float)joints[2 * j + 1];
            visibility[j] = vis[j] > 0 ? 2f : 0f;
            if (vis[j] > 0) labelled++;
        }
        var weights = new float[k];
        Array.Fill(weights, 1f);
        return new PoseInstance
        {
            ImagePath = imagePath,
            InstanceId = r.Index,
            Bbox = new BoundingBox((float)(cx - side / 2), (float)(cy - side / 2), (float)side, (float)side),
            Keypoints = keypoints,
            Visibility = visibility,
            KeypointWeights = weights,
            Area = (float)(side * side * AreaRatio),
            NumKeypoints = labelled,
            SourceName = options.SourceName,
            HeadBox = head,
            Center = new Vector2((float)cx, (float)cy),
            Scale = new Vector2((float)side, (float)side),
        };
    }

    /// <summary>The 0-based box centre mmpose derives from an MPII record's centre and box side (pixels).</summary>
    public static (double X, double Y) BoxCenter(double centerX, double centerY, double side)
    {
        if (centerX != -1) centerY += 15.0 / PixelStd * side;
        return (centerX - 1, centerY - 1);
    }

    private static BoundingBox? ReadHeadBox(JsonRecord r, MpiiLoadOptions options)
    {
        if (options.HeadBoxes is not null) return options.HeadBoxes[r.Index];
        if (options.HeadBoxLookup?.Invoke(r.Index, r.String("image")) is BoundingBox looked) return looked;
        if (!r.Has("headboxes")) return null;
        var v = r.Get("headboxes");
        double[] c = v.ValueKind == JsonValueKind.Array && v.GetArrayLength() == 2
            ? r.NumberRows("headboxes", 2, 2)
            : r.Numbers("headboxes", 4);
        return BoundingBox.FromCorners((float)c[0], (float)c[1], (float)c[2], (float)c[3]);
    }
}
