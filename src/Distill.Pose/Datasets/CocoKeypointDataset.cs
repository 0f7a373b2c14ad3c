using System.Text.Json;
using Distill.Pose.Datasets.Json;
using Distill.Pose.Keypoints;

namespace Distill.Pose.Datasets;

/// <summary>
/// A COCO person-keypoints annotation file (images, annotations, categories), one instance per usable annotation,
/// or one per detected box when a detection file is given.
/// </summary>
/// <remarks>
/// Filtering follows mmpose's top-down COCO dataset: crowd regions and annotations without a labelled keypoint
/// are skipped. Further, boxes with a side of at most 1 px, boxes wholly outside the image and records holding
/// NaN/infinite numbers are skipped and counted. Boxes are then clipped to the image
/// (<see cref="CocoLoadOptions.BoxClipping"/>, by default as mmpose 1.x does).
/// </remarks>
public sealed class CocoKeypointDataset : PoseDataset
{
    private readonly List<PoseInstance> _instances;
    private readonly Dictionary<long, ImageInfo> _imageById;

    public override string Name { get; }
    public override KeypointSet KeypointSet { get; }
    public override int Count => _instances.Count;
    public override PoseInstance this[int index] => _instances[index];
    public override IReadOnlyList<ImageInfo> Images { get; }
    public override LoadReport Report { get; }

    /// <summary>The annotation file.</summary>
    public string AnnotationPath { get; }

    /// <summary>
    /// Evaluation mode only: every annotation that parsed (crowd, keypoint-less and degenerate ones included; only
    /// records with non-finite numbers or defects are missing), with boxes as written, for the COCO metric.
    /// Empty in training mode.
    /// </summary>
    public IReadOnlyList<PoseInstance> GroundTruth { get; }

    /// <summary>Report of the detection file, when instances come from detections.</summary>
    public LoadReport? DetectionReport { get; }

    private CocoKeypointDataset(string name, KeypointSet set, string annotationPath, List<PoseInstance> instances,
                                IReadOnlyList<ImageInfo> images, Dictionary<long, ImageInfo> imageById, LoadReport report, IReadOnlyList<PoseInstance> groundTruth,
                                LoadReport? detectionReport)
    {
        Name = name;
        KeypointSet = set;
        AnnotationPath = annotationPath;
        _instances = instances;
        Images = images;
        _imageById = imageById;
        Report = report;
        GroundTruth = groundTruth;
        DetectionReport = detectionReport;
    }

    public ImageInfo? FindImage(long imageId) => _imageById.TryGetValue(imageId, out var info) ? info : null;

    public static CocoKeypointDataset Load(string annotationPath, CocoLoadOptions? options = null)
    {
        options ??= new CocoLoadOptions();
        var set = options.KeypointSet ?? KeypointSet.FromName("coco17");
        string imageRoot = options.ImageRoot ?? Path.GetDirectoryName(Path.GetFullPath(annotationPath))!;
        bool withDetections = options.DetectionsPath is not null;
        bool evaluation = withDetections || options.Mode == DatasetMode.Evaluation;
        var report = new LoadReport(annotationPath);

        using var doc = JsonFile.Parse(annotationPath);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
            throw new DatasetException(annotationPath, null, null, null, $"expected a JSON object at the top level, found {JsonRecord.Describe(root)}");

        var keypointCategories = ReadCategories(annotationPath, root, set);
        var (images, imageById) = ReadImages(annotationPath, root, imageRoot, options, report);

        var instances = new List<PoseInstance>();
        var groundTruth = new List<PoseInstance>();
        var annotations = Section(annotationPath, root, "annotations");
        int index = 0;
        foreach (var element in annotations.EnumerateArray())
        {
            report.RecordsRead++;
            try
            {
                var record = new JsonRecord(annotationPath, "annotations", index, element);
                ReadAnnotation(record, set, imageById, keypointCategories, options, report,
                               withDetections ? null : instances, evaluation ? groundTruth : null);
            }
            catch (DatasetException e) when (options.SkipBad)
            {
                report.BadRecord(e, $"annotations[{index}]");
            }
            index++;
        }

        LoadReport? detectionReport = null;
        if (withDetections)
        {
            var detections = PersonDetectionReader.Read(options.DetectionsPath!, options.DetectionScoreThreshold,
                                                        imageById.Keys.ToHashSet(), options.SkipBad);
            detectionReport = detections.Report;
            foreach (var det in detections.Detections)
            {
                var image = imageById[det.ImageId];
                if (options.ExcludedImages?.Contains(image.Path) == true)
                {
                    detectionReport.Count(SkipReason.BadImage);
                    continue;
                }
                instances.Add(new PoseInstance
                {
                    ImagePath = image.Path,
                    ImageId = det.ImageId,
                    InstanceId = det.Index,
                    Bbox = det.Bbox,
                    Keypoints = new float[set.Count * 2],
                    Visibility = new float[set.Count],
                    KeypointWeights = new float[set.Count],
                    Area = det.Bbox.Area,
                    Score = det.Score,
                    SourceName = options.SourceName,
                });
            }
        }

        return new CocoKeypointDataset(options.SourceName, set, annotationPath, instances, images, imageById, report,
                                       groundTruth, detectionReport);
    }

    private static JsonElement Section(string file, JsonElement root, string key)
    {
        if (!root.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null)
            throw new DatasetException(file, null, null, key, "missing section");
        if (v.ValueKind != JsonValueKind.Array)
            throw new DatasetException(file, null, null, key, $"expected an array, found {JsonRecord.Describe(v)}");
        return v;
    }

    /// <summary>Ids of categories that list keypoints; their names must be the keypoint set's (or its aliases), in order.</summary>
    private static HashSet<long>? ReadCategories(string file, JsonElement root, KeypointSet set)
    {
        if (!root.TryGetProperty("categories", out var cats) || cats.ValueKind == JsonValueKind.Null) return null;
        if (cats.ValueKind != JsonValueKind.Array)
            throw new DatasetException(file, null, null, "categories", $"expected an array, found {JsonRecord.Describe(cats)}");
        var ids = new HashSet<long>();
        int i = 0;
        foreach (var element in cats.EnumerateArray())
        {
            var record = new JsonRecord(file, "categories", i++, element);
            if (!record.Has("keypoints")) continue;
            long id = record.Long("id");
            var names = record.Array("keypoints");
            var found = names.EnumerateArray().Select(n => n.ValueKind == JsonValueKind.String ? n.GetString()! : n.GetRawText()).ToArray();
            if (found.Length != set.Count || found.Where((n, j) => !set.Matches(j, n)).Any())
                throw record.Error("keypoints",
                    $"keypoint names [{string.Join(", ", found)}] do not match keypoint set {set.Name} [{string.Join(", ", set.Names)}]");
            ids.Add(id);
        }
        if (ids.Count == 0) throw new DatasetException(file, null, null, "categories", "no category lists keypoints; is this a keypoint annotation file?");
        return ids;
    }

    private static (List<ImageInfo>, Dictionary<long, ImageInfo>) ReadImages(
        string file, JsonElement root, string imageRoot, CocoLoadOptions options, LoadReport report)
    {
        var images = new List<ImageInfo>();
        var byId = new Dictionary<long, ImageInfo>();
        int i = 0;
        foreach (var element in Section(file, root, "images").EnumerateArray())
        {
            try
            {
                var record = new JsonRecord(file, "images", i, element);
                long id = record.Long("id");
                string name = record.String("file_name");
                long width = record.Long("width"), height = record.Long("height");
                if (width <= 0 || width > int.MaxValue) throw record.Error("width", $"must be a positive pixel count, got {width}");
                if (height <= 0 || height > int.MaxValue) throw record.Error("height", $"must be a positive pixel count, got {height}");
                var info = new ImageInfo(id, name, ImagePaths.Resolve(record, "file_name", imageRoot, name, options.AllowOutsideRoot), (int)width, (int)height)
                {
                    CrowdIndex = record.Has("crowdIndex") ? record.Number("crowdIndex") : null,
                };
                if (!byId.TryAdd(id, info)) throw record.Error("id", $"image id {id} is listed twice");
                // An excluded image stays known (its records are counted as bad images, not unknown ones) but is not evaluated.
                if (options.ExcludedImages?.Contains(info.Path) != true) images.Add(info);
            }
            catch (DatasetException e) when (options.SkipBad)
            {
                report.BadRecord(e, $"images[{i}]");
            }
            i++;
        }
        return (images, byId);
    }

    private static void ReadAnnotation(JsonRecord r, KeypointSet set, Dictionary<long, ImageInfo> imageById,
                                       HashSet<long>? keypointCategories, CocoLoadOptions options,
                                       LoadReport report, List<PoseInstance>? instances, List<PoseInstance>? groundTruth)
    {
        int k = set.Count;
        long id = r.Long("id");
        long imageId = r.Long("image_id");
        long? category = r.OptionalLong("category_id");
        bool crowd = r.OptionalFlag("iscrowd") ?? false;
        double[] box = r.Numbers("bbox", 4);
        double[] raw = crowd && !r.Has("keypoints") ? new double[3 * k] : r.Numbers("keypoints", 3 * k);
        long? numKeypoints = r.OptionalLong("num_keypoints");
        double? area = r.OptionalNumber("area");

        if (!imageById.TryGetValue(imageId, out var image))
        {
            // Every annotation must belong to a listed image; a dangling one means the file is inconsistent.
            if (!options.SkipBad) throw r.Error("image_id", $"image {imageId} is not in 'images'");
            report.UnknownImage(imageId, r.Label, $"image {imageId} is not in 'images'");
            return;
        }
        if (category is long c && keypointCategories is not null && !keypointCategories.Contains(c))
        {
            report.Count(SkipReason.OtherCategory);
            return;
        }
        if (options.ExcludedImages?.Contains(image.Path) == true)
        {
            report.Count(SkipReason.BadImage);
            return;
        }

        if (!box.All(double.IsFinite) || !raw.All(double.IsFinite) || (area is double a0 && !double.IsFinite(a0)))
        {
            report.Problem(r.Label, SkipReason.NonFinite, "NaN or infinite value in bbox, keypoints or area");
            return;
        }

        var keypoints = new float[2 * k];
        var visibility = new float[k];
        int labelled = 0;
        bool anyNonZero = false;
        for (int j = 0; j < k; j++)
        {
            keypoints[2 * j] = (float)raw[3 * j];
            keypoints[2 * j + 1] = (float)raw[3 * j + 1];
            // COCO's flag is 0 (unlabelled), 1 (labelled, hidden) or 2 (visible); like mmpose, training and evaluation
            // only ask whether a joint is labelled, and a flag of 2 would otherwise double the joint's loss weight.
            visibility[j] = (float)Math.Min(1.0, raw[3 * j + 2]);
            if (raw[3 * j + 2] > 0) labelled++;
            anyNonZero |= raw[3 * j] != 0 || raw[3 * j + 1] != 0 || raw[3 * j + 2] != 0;
        }
        int nKeypoints = numKeypoints is long nk ? (int)nk : labelled;
        var rawBox = new BoundingBox((float)box[0], (float)box[1], (float)box[2], (float)box[3]);
        var ones = new float[k];
        Array.Fill(ones, 1f);
        var instance = new PoseInstance
        {
            ImagePath = image.Path,
            ImageId = imageId,
            InstanceId = id,
            Bbox = rawBox,
            Keypoints = keypoints,
            Visibility = visibility,
            KeypointWeights = ones,
            Area = (float)(area ?? box[2] * box[3]),
            IsCrowd = crowd,
            NumKeypoints = nKeypoints,
            SourceName = options.SourceName,
        };
        groundTruth?.Add(instance);
        if (instances is null) return;

        if (crowd)
        {
            report.Count(SkipReason.Crowd);
            return;
        }
        if (nKeypoints == 0 || !anyNonZero)
        {
            report.Count(SkipReason.NoKeypoints);
            return;
        }
        if (box[2] <= 1 || box[3] <= 1)
        {
            report.Problem(r.Label, SkipReason.DegenerateBox, $"box {rawBox} has a side of at most 1 px");
            return;
        }
        if (box[0] >= image.Width || box[1] >= image.Height || box[0] + box[2] <= 0 || box[1] + box[3] <= 0)
        {
            report.Problem(r.Label, SkipReason.BoxOutsideImage, $"box {rawBox} lies outside the {image.Width}x{image.Height} image");
            return;
        }
        var clipped = Clip(box, image.Width, image.Height, options.BoxClipping);
        if (clipped.Width <= 0 || clipped.Height <= 0)
        {
            report.Problem(r.Label, SkipReason.DegenerateBox, $"box {rawBox} is empty after clipping to the {image.Width}x{image.Height} image");
            return;
        }
        instances.Add(instance with { Bbox = clipped });
        report.Loaded++;
    }

    /// <summary>Clips an xywh box to a W x H image (see <see cref="CocoBoxClipping"/>).</summary>
    public static BoundingBox Clip(ReadOnlySpan<double> xywh, int width, int height, CocoBoxClipping mode)
    {
        double x = xywh[0], y = xywh[1], w = xywh[2], h = xywh[3];
        double x1, y1, x2, y2;
        switch (mode)
        {
            case CocoBoxClipping.Corners:
                x1 = Math.Clamp(x, 0, width - 1);
                y1 = Math.Clamp(y, 0, height - 1);
                x2 = Math.Clamp(x + w, 0, width - 1);
                y2 = Math.Clamp(y + h, 0, height - 1);
                break;
            case CocoBoxClipping.Legacy:
                x1 = Math.Max(0, x);
                y1 = Math.Max(0, y);
                x2 = Math.Min(width - 1, x1 + Math.Max(0, w - 1));
                y2 = Math.Min(height - 1, y1 + Math.Max(0, h - 1));
                break;
            default:
                return new BoundingBox((float)x, (float)y, (float)w, (float)h);
        }
        return new BoundingBox((float)x1, (float)y1, (float)(x2 - x1), (float)(y2 - y1));
    }
}
