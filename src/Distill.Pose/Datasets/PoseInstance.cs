using System.Numerics;

namespace Distill.Pose.Datasets;

/// <summary>
/// One person in one image, in the keypoint order of its dataset's <see cref="Keypoints.KeypointSet"/>.
/// Arrays are shared between copies made with <c>with</c>; transforms that change them must copy first
/// (<see cref="DeepClone"/>).
/// </summary>
public sealed record PoseInstance
{
    public required string ImagePath { get; init; }
    public long ImageId { get; init; }

    /// <summary>Annotation id (COCO), record index (MPII) or running index (detections).</summary>
    public long InstanceId { get; init; }

    /// <summary>Person box in pixels (xywh).</summary>
    public BoundingBox Bbox { get; init; }

    /// <summary>(x, y) per keypoint, length 2 K, in image pixels.</summary>
    public required float[] Keypoints { get; init; }

    /// <summary>COCO-style flag per keypoint: 0 not labelled, 1 labelled but occluded, 2 labelled and visible.</summary>
    public required float[] Visibility { get; init; }

    /// <summary>
    /// Per-keypoint loss weight: 1 where the source annotates the joint, 0 where it cannot (a joint its keypoint
    /// set lacks). Whether a particular joint is labelled is in <see cref="Visibility"/>.
    /// </summary>
    public required float[] KeypointWeights { get; init; }

    /// <summary>Object area used by OKS (COCO's segment area; MPII: 0.53 box area; detections: box area).</summary>
    public float Area { get; init; }

    public bool IsCrowd { get; init; }

    /// <summary>Number of labelled keypoints (visibility &gt; 0), as recorded in the file when it says.</summary>
    public int NumKeypoints { get; init; }

    /// <summary>Detector confidence for detected boxes; 1 for ground truth.</summary>
    public float Score { get; init; } = 1f;

    /// <summary>Which dataset the instance came from, e.g. <c>coco</c> or <c>mpii</c>.</summary>
    public string SourceName { get; init; } = "";

    /// <summary>MPII head box used by PCKh (X, Y = x1, y1; X2, Y2 = x2, y2), in the file's coordinates.</summary>
    public BoundingBox? HeadBox { get; init; }

    /// <summary>MPII box centre in 0-based pixels, after mmpose's adjustments.</summary>
    public Vector2? Center { get; init; }

    /// <summary>MPII box size in pixels (width, height) = file scale x 200.</summary>
    public Vector2? Scale { get; init; }

    public int KeypointCount => Visibility.Length;

    public PoseInstance DeepClone() => this with
    {
        Keypoints = (float[])Keypoints.Clone(),
        Visibility = (float[])Visibility.Clone(),
        KeypointWeights = (float[])KeypointWeights.Clone(),
    };
}
