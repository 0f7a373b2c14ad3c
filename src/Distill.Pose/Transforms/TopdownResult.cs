using Distill.Pose.Codecs;
using Distill.Torch.Vision;

namespace Distill.Pose.Transforms;

/// <summary>One sample after the top-down pipeline.</summary>
public sealed record TopdownResult
{
    public required TopdownSample Sample { get; init; }

    /// <summary>How the crop was cut from the image.</summary>
    public required CropGeometry Geometry { get; init; }

    /// <summary>The augmented 8-bit RGB crop.</summary>
    public required Image Crop { get; init; }

    /// <summary>The normalised crop, 3 x H x W float32.</summary>
    public required float[] Input { get; init; }

    /// <summary>K (x, y) pairs in crop pixels (after flip and swap); points outside the crop are kept as they are.</summary>
    public required float[] Keypoints { get; init; }

    /// <summary>K visibilities, swapped with the keypoints when flipped.</summary>
    public required float[] Visibility { get; init; }

    /// <summary>The sample's K keypoint weights (1 when it gave none), swapped with the keypoints when flipped.</summary>
    public required float[] KeypointWeights { get; init; }

    /// <summary>The codec's target for the crop keypoints; null without a codec.</summary>
    public EncodedTarget? Target { get; init; }

    /// <summary>One crop per configured teacher input size, in order.</summary>
    public IReadOnlyList<TeacherCrop> Teachers { get; init; } = [];

    /// <summary>The pixel augmentation that was applied.</summary>
    public PixelAugmentation PixelAugmentation { get; init; } = PixelAugmentation.None;

    /// <summary>Keypoint ids the half-body step framed, or null when it left the box alone.</summary>
    public IReadOnlyList<int>? HalfBodyIds { get; init; }
}
