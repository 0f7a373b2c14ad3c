using Distill.Pose.BottomUp.Encoders;
using Distill.Pose.Datasets;
using Distill.Pose.Evaluation;
using Distill.Torch.Vision;

namespace Distill.Pose.BottomUp.Data;

/// <summary>One whole image with every person (and crowd region) annotated on it, in image pixels.</summary>
public sealed record BottomupSample
{
    public required string ImagePath { get; init; }
    public long ImageId { get; init; }
    public int Width { get; init; }
    public int Height { get; init; }
    public required IReadOnlyList<FieldAnnotation> Annotations { get; init; }

    /// <summary>An image already in memory (tests, synthetic data); null reads <see cref="ImagePath"/>.</summary>
    public Image? Image { get; init; }

    public string Describe() => $"image {ImageId} ({ImagePath})";

    /// <summary>
    /// The images of a COCO keypoint file, each with all its annotations (crowds and keypoint-less persons too, which
    /// mask their areas): image paths and sizes from <paramref name="images"/>, annotations as written (visibility
    /// flags 1 and 2 kept apart for the occlusion rule) from <paramref name="groundTruth"/> of the same file.
    /// <paramref name="withPersonsOnly"/> keeps images with at least one labelled keypoint (training: an image without
    /// persons teaches only background).
    /// </summary>
    public static List<BottomupSample> FromCoco(CocoKeypointDataset images, CocoKeypointGroundTruth groundTruth, bool withPersonsOnly)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(groundTruth);
        var byImage = groundTruth.Annotations.GroupBy(a => a.ImageId).ToDictionary(g => g.Key, g => g.ToList());
        var samples = new List<BottomupSample>();
        foreach (var image in images.Images)
        {
            var annotations = byImage.TryGetValue(image.Id, out var list) ? list.Select(ToField).ToList() : [];
            if (withPersonsOnly && !annotations.Any(a => !a.IsCrowd && a.HasLabelledKeypoint)) continue;
            samples.Add(new BottomupSample
            {
                ImagePath = image.Path,
                ImageId = image.Id,
                Width = image.Width,
                Height = image.Height,
                Annotations = annotations,
            });
        }
        return samples;
    }

    private static FieldAnnotation ToField(CocoKeypointAnnotation a)
    {
        if (a.Bbox.Length != 4)
            throw new FormatException($"annotation {a.Id} of image {a.ImageId}: bbox has {a.Bbox.Length} numbers, 4 (x, y, w, h) expected");
        return new(a.Keypoints.Select(v => (float)v).ToArray(), (a.Bbox[0], a.Bbox[1], a.Bbox[2], a.Bbox[3]), a.IsCrowd);
    }
}
