namespace Distill.Pose.Datasets;

/// <summary>How COCO ground-truth boxes are clipped to the image before use.</summary>
public enum CocoBoxClipping
{
    /// <summary>
    /// mmpose 1.x (<c>BaseCocoStyleDataset.parse_data_info</c>): each corner is clamped separately,
    /// x1 = clip(x, 0, W - 1), x2 = clip(x + w, 0, W - 1), same for y.
    /// </summary>
    Corners,

    /// <summary>
    /// mmpose 0.x and HRNet: x1 = max(0, x), x2 = min(W - 1, x1 + max(0, w - 1)), same for y; the box is
    /// one pixel narrower, and a negative x shifts the right edge with it instead of clipping only the left.
    /// </summary>
    Legacy,

    /// <summary>Boxes are used as written.</summary>
    None,
}
