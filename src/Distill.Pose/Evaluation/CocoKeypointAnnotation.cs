namespace Distill.Pose.Evaluation;

/// <summary>
/// One ground-truth person in COCO keypoint format.
/// </summary>
/// <param name="ImageId">The image the person belongs to.</param>
/// <param name="Id">The annotation id. Like pycocotools, an id of 0 is indistinguishable from "unmatched".</param>
/// <param name="Keypoints">K x (x, y, v) flattened; v &gt; 0 marks a labelled keypoint.</param>
/// <param name="Area">Segment area; it is the OKS scale s^2 and decides the area range.</param>
/// <param name="Bbox">(x, y, w, h); used only when no keypoint is labelled.</param>
/// <param name="IsCrowd">Crowd regions are ignored and may absorb several detections.</param>
/// <param name="NumKeypoints">The annotated count; 0 makes the person ignored, as in COCOeval.</param>
/// <param name="CategoryId">The category; the evaluator scores one category (person, 1).</param>
public sealed record CocoKeypointAnnotation(
    long ImageId,
    long Id,
    double[] Keypoints,
    double Area,
    double[] Bbox,
    bool IsCrowd,
    int NumKeypoints,
    int CategoryId = 1);
