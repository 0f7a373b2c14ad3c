namespace Distill.Pose.Evaluation;

/// <summary>
/// CrowdPose keypoint AP/AR as its evaluator computes them (crowdposetools, and xtcocotools' <c>keypoints_crowd</c>
/// that mmpose uses with <c>use_area=False</c>): COCO's OKS matching with at most 20 detections per image, the
/// object scale taken as box width x height x 0.53 instead of the annotated area, a ground truth ignored when crowd
/// or when its <c>num_keypoints</c> (CrowdPose counts visible joints only) is 0; then AP separately over the easy
/// (crowd index &lt; 0.2), medium (&lt; 0.8) and hard (the rest) images, each rounded to 4 decimals as the reference
/// prints and stores them.
/// </summary>
public sealed class CrowdPoseEvaluator
{
    /// <summary>Crowd-index bounds of the easy and medium parts.</summary>
    public const double EasyBelow = 0.2, MediumBelow = 0.8;

    /// <summary>Box area to object scale, as COCO's MPII-style fallback uses.</summary>
    public const double BoxAreaRatio = 0.53;

    private readonly CocoKeypointEvaluator _coco;

    /// <param name="sigmas">Per-keypoint OKS sigmas (CrowdPose's 14).</param>
    public CrowdPoseEvaluator(IReadOnlyList<double> sigmas) => _coco = new CocoKeypointEvaluator(sigmas, maxDetections: 20);

    /// <param name="crowdIndex">Each ground-truth image's crowd index; every image must have one.</param>
    public CrowdPoseStats Evaluate(CocoKeypointGroundTruth groundTruth, IReadOnlyList<CocoKeypointResult> results,
        IReadOnlyDictionary<long, double> crowdIndex)
    {
        ArgumentNullException.ThrowIfNull(groundTruth);
        ArgumentNullException.ThrowIfNull(results);
        ArgumentNullException.ThrowIfNull(crowdIndex);
        foreach (long id in groundTruth.ImageIds)
            if (!crowdIndex.ContainsKey(id))
                throw new ArgumentException($"image {id} has no crowd index; CrowdPose's breakdown needs one per image");

        var boxScaled = groundTruth.Annotations
            .Select(a => a with { Area = a.Bbox is { Length: 4 } b ? b[2] * b[3] * BoxAreaRatio : a.Area })
            .ToList();
        var all = _coco.Evaluate(new CocoKeypointGroundTruth(groundTruth.ImageIds, boxScaled), results);

        double Part(Func<double, bool> inPart)
        {
            var ids = groundTruth.ImageIds.Where(id => inPart(crowdIndex[id])).ToHashSet();
            var truth = new CocoKeypointGroundTruth(ids, boxScaled.Where(a => ids.Contains(a.ImageId)));
            var ap = _coco.Evaluate(truth, results.Where(r => ids.Contains(r.ImageId)).ToList()).AP;
            return ap < 0 ? ap : Math.Round(ap, 4, MidpointRounding.ToEven);
        }

        return new CrowdPoseStats(all.AP, all.AP50, all.AP75, all.AR, all.AR50, all.AR75,
            APEasy: Part(c => c < EasyBelow),
            APMedium: Part(c => c >= EasyBelow && c < MediumBelow),
            APHard: Part(c => c >= MediumBelow));
    }
}
