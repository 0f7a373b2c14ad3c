namespace Distill.Pose.Evaluation;

/// <summary>
/// The ten COCO keypoint summary numbers, in COCOeval's order. Each is -1 when undefined
/// (no non-ignored ground truth in that area range).
/// </summary>
public sealed record CocoKeypointStats(
    double AP, double AP50, double AP75, double APMedium, double APLarge,
    double AR, double AR50, double AR75, double ARMedium, double ARLarge)
{
    /// <summary>Names as mmpose logs them, in the same order as <see cref="ToArray"/>.</summary>
    public static IReadOnlyList<string> Names { get; } =
        ["AP", "AP .5", "AP .75", "AP (M)", "AP (L)", "AR", "AR .5", "AR .75", "AR (M)", "AR (L)"];

    /// <summary>The values in COCOeval's <c>stats</c> order.</summary>
    public double[] ToArray() => [AP, AP50, AP75, APMedium, APLarge, AR, AR50, AR75, ARMedium, ARLarge];

    public IReadOnlyDictionary<string, double> ToDictionary()
    {
        var values = ToArray();
        var result = new Dictionary<string, double>();
        for (int i = 0; i < values.Length; i++) result[Names[i]] = values[i];
        return result;
    }
}
