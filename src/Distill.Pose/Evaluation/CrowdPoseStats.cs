namespace Distill.Pose.Evaluation;

/// <summary>
/// CrowdPose's nine summary numbers in its evaluator's order: AP and AR at OKS 0.50:0.95, 0.50 and 0.75 (at most 20
/// detections per image, no area ranges), then AP over the easy, medium and hard images by crowd index.
/// Each is -1 when undefined (no regular ground truth in that part).
/// </summary>
public sealed record CrowdPoseStats(
    double AP, double AP50, double AP75, double AR, double AR50, double AR75,
    double APEasy, double APMedium, double APHard)
{
    /// <summary>Names as mmpose logs them for CrowdPose, in the same order as <see cref="ToArray"/>.</summary>
    public static IReadOnlyList<string> Names { get; } =
        ["AP", "AP .5", "AP .75", "AR", "AR .5", "AR .75", "AP(E)", "AP(M)", "AP(H)"];

    public double[] ToArray() => [AP, AP50, AP75, AR, AR50, AR75, APEasy, APMedium, APHard];

    public IReadOnlyDictionary<string, double> ToDictionary()
    {
        var values = ToArray();
        var result = new Dictionary<string, double>();
        for (int i = 0; i < values.Length; i++) result[Names[i]] = values[i];
        return result;
    }
}
