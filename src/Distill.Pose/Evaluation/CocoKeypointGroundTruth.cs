using System.Text.Json;

namespace Distill.Pose.Evaluation;

/// <summary>
/// The images and person annotations of a COCO keypoint annotation file: what COCOeval evaluates against.
/// Every listed image takes part, with or without annotations.
/// </summary>
public sealed class CocoKeypointGroundTruth
{
    public CocoKeypointGroundTruth(IEnumerable<long> imageIds, IEnumerable<CocoKeypointAnnotation> annotations)
    {
        ImageIds = imageIds.Distinct().Order().ToArray();
        Annotations = annotations.ToArray();
        var known = ImageIds.ToHashSet();
        for (int i = 0; i < Annotations.Count; i++)
            if (!known.Contains(Annotations[i].ImageId))
                throw new ArgumentException(
                    $"annotation {i} (id {Annotations[i].Id}) refers to image {Annotations[i].ImageId}, which is not in the image list");
    }

    /// <summary>Image ids, sorted ascending and unique (the order COCOeval accumulates in).</summary>
    public IReadOnlyList<long> ImageIds { get; }

    /// <summary>Annotations in file order (the order matters for ties in matching).</summary>
    public IReadOnlyList<CocoKeypointAnnotation> Annotations { get; }

    /// <summary>Reads a COCO annotation file (keys <c>images</c> and <c>annotations</c>).</summary>
    public static CocoKeypointGroundTruth Load(string path)
    {
        using var doc = CocoJson.Open(path);
        var root = doc.RootElement;
        var images = CocoJson.Property(root, "images", path);
        if (images.ValueKind != JsonValueKind.Array)
            throw new FormatException($"{path}: 'images' must be an array");
        var imageIds = new List<long>();
        int index = 0;
        foreach (var image in images.EnumerateArray())
            imageIds.Add(CocoJson.Int64(image, "id", $"{path}: images[{index++}]"));

        var annotations = new List<CocoKeypointAnnotation>();
        var annArray = CocoJson.Property(root, "annotations", path);
        if (annArray.ValueKind != JsonValueKind.Array)
            throw new FormatException($"{path}: 'annotations' must be an array");
        index = 0;
        foreach (var ann in annArray.EnumerateArray())
        {
            string where = $"{path}: annotations[{index++}]";
            long id = CocoJson.Int64(ann, "id", where);
            where += $" (id {id})";
            annotations.Add(new CocoKeypointAnnotation(
                ImageId: CocoJson.Int64(ann, "image_id", where),
                Id: id,
                Keypoints: CocoJson.Numbers(ann, "keypoints", where),
                Area: CocoJson.Double(ann, "area", where),
                Bbox: CocoJson.Numbers(ann, "bbox", where),
                IsCrowd: CocoJson.Flag(ann, "iscrowd", where, false),
                NumKeypoints: checked((int)CocoJson.Int64(ann, "num_keypoints", where)),
                CategoryId: checked((int)CocoJson.Int64(ann, "category_id", where))));
        }

        try
        {
            return new CocoKeypointGroundTruth(imageIds, annotations);
        }
        catch (ArgumentException e)
        {
            throw new FormatException($"{path}: {e.Message}", e);
        }
    }
}
