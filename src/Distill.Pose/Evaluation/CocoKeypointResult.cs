namespace Distill.Pose.Evaluation;

/// <summary>
/// One predicted person in the COCO keypoint results format.
/// </summary>
/// <param name="ImageId">The image; it must be one of the ground-truth images.</param>
/// <param name="Keypoints">K x (x, y, score) flattened; only x and y enter OKS.</param>
/// <param name="Score">The instance score that orders detections.</param>
/// <param name="CategoryId">The category (person, 1).</param>
/// <param name="Bbox">Optional (x, y, w, h). When present its w x h is the detection area, as pycocotools'
/// result loader does for results that carry a box; otherwise the area is the extent of the keypoints.</param>
public sealed record CocoKeypointResult(
    long ImageId,
    double[] Keypoints,
    double Score,
    int CategoryId = 1,
    double[]? Bbox = null);
