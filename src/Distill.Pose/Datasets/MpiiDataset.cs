using System.Globalization;
using System.Numerics;
using System.Text.Json;
using Distill.Pose.Datasets.Json;
using Distill.Pose.Evaluation;
using Distill.Pose.Keypoints;

namespace Distill.Pose.Datasets;

/// <summary>
/// MPII annotations in mmpose's JSON layout: a list of {image, center [x, y], scale, joints [[x, y] x K],
/// joints_vis [K]}, optionally with headboxes [x1, y1, x2, y2] (or [[x1, y1], [x2, y2]]). One instance per record.
/// The official release file (<c>mpii_human_pose_v1_u12_1.mat</c>, see <see cref="MpiiRelease"/>) is read too,
/// recognised by its MAT-file header: every person of a training image (<c>img_train</c> = 1) with annotated
/// joints becomes an instance, with objpos as the centre, its scale and head rectangle, exactly as the JSON
/// converted from it would give.
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
        if (MpiiRelease.IsMatFile(annotationPath)) return LoadRelease(annotationPath, set, imageRoot, options, report);

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

        return Finish(annotationPath, set, imageRoot, options, report, parsed);
    }

    private static MpiiDataset Finish(string annotationPath, KeypointSet set, string imageRoot, MpiiLoadOptions options,
        LoadReport report, List<(PoseInstance Instance, string Image)> parsed)
    {
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

    /// <summary>
    /// The people of the release's training images with at least one annotated joint, one instance each, in file
    /// order (image, then annorect). Joints missing from a person's point list are unlabelled (0, 0); a listed joint is
    /// labelled (visibility 2) whatever its is_visible, as in the JSON mmpose converts from this file (joints_vis).
    /// Head boxes come from x1, y1, x2, y2 unless the options supply them.
    /// </summary>
    private static MpiiDataset LoadRelease(string path, KeypointSet set, string imageRoot, MpiiLoadOptions options, LoadReport report)
    {
        const int k = MpiiPckh.JointCount;
        if (set.Count != k)
            throw new DatasetException(path, null, null, null,
                $"the MPII release holds the {k} MPII joints, but keypoint set '{set.Name}' has {set.Count}");
        MpiiRelease release;
        try
        {
            release = MpiiRelease.Load(path);
        }
        catch (Exception e) when (e is FormatException or NotSupportedException or KeyNotFoundException)
        {
            throw new DatasetException(path, null, null, null, e.Message.StartsWith(path, StringComparison.Ordinal)
                ? e.Message[path.Length..].TrimStart(':', ' ') : e.Message, e);
        }
        var people = release.Images.Where(i => i.IsTrain)
            .SelectMany(i => i.People.Where(p => p.Points.Count > 0).Select(p => (Image: i, Person: p))).ToList();
        if (options.HeadBoxes is not null && options.HeadBoxes.Count != people.Count)
            throw new DatasetException(path, null, null, "headboxes",
                $"{options.HeadBoxes.Count} head boxes were supplied for {people.Count} annotated people of training images");

        var parsed = new List<(PoseInstance Instance, string Image)>();
        for (int index = 0; index < people.Count; index++)
        {
            var (image, person) = people[index];
            report.RecordsRead++;
            string label = $"annolist({image.Index + 1}).annorect({person.Index})";
            try
            {
                if (person.Scale is not double scale || person.ObjPos is not { } center)
                    throw new DatasetException(path, label, index, person.Scale is null ? "scale" : "objpos",
                        "an annotated person needs scale and objpos");
                var joints = new double[2 * k];
                var vis = new double[k];
                foreach (var point in person.Points)
                {
                    joints[2 * point.Id] = point.X;
                    joints[2 * point.Id + 1] = point.Y;
                    vis[point.Id] = 1;
                }
                BoundingBox? head = options.HeadBoxes is not null ? options.HeadBoxes[index]
                    : options.HeadBoxLookup?.Invoke(index, image.Name)
                      ?? (person.HeadBox is { } hb ? BoundingBox.FromCorners((float)hb[0], (float)hb[1], (float)hb[2], (float)hb[3]) : null);
                string imagePath = ImagePaths.Resolve(path, label, imageRoot, image.Name, options.AllowOutsideRoot);
                if (options.ExcludedImages?.Contains(imagePath) == true)
                {
                    report.Count(SkipReason.BadImage);
                    continue;
                }
                var instance = BuildInstance(label, index, imagePath, center, scale, joints, vis, head, k, options, report);
                if (instance is not null) parsed.Add((instance, image.Name));
            }
            catch (DatasetException e) when (options.SkipBad)
            {
                report.BadRecord(e, label);
            }
        }
        return Finish(path, set, imageRoot, options, report, parsed);
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

        return BuildInstance(r.Label, r.Index, imagePath, center, scale, joints, vis, head, k, options, report);
    }

    private static PoseInstance? BuildInstance(string label, int index, string imagePath, double[] center, double scale,
        double[] joints, double[] vis, BoundingBox? head, int k, MpiiLoadOptions options, LoadReport report)
    {
        if (!center.All(double.IsFinite) || !double.IsFinite(scale) || !joints.All(double.IsFinite) || !vis.All(double.IsFinite)
            || (head is BoundingBox hb && !hb.IsFinite))
        {
            report.Problem(label, SkipReason.NonFinite, "NaN or infinite value in center, scale, joints, joints_vis or headboxes");
            return null;
        }
        double side = scale * PixelStd;
        if (side <= 1)
        {
            report.Problem(label, SkipReason.DegenerateBox, $"scale {scale} gives a box side of {side} px");
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
            InstanceId = index,
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
