using Distill.Pose.Codecs;
using Distill.Pose.Models;
using Distill.Pose.Models.Backbones;
using Distill.Pose.Models.Heads;
using Distill.Pose.Models.Layers;

namespace Distill.Bench;

/// <summary>
/// The benchmarked pose models at 256x192 with 17 COCO keypoints, built exactly as pose_models.py builds their
/// PyTorch twins (same layers, same state-dict names, same parameter counts).
/// </summary>
public static class BenchModels
{
    public const int Width = 192, Height = 256;

    /// <summary>Script names (shared with pose_models.py), display names and the published parameter counts.</summary>
    public static readonly (string Name, string Display, long Parameters)[] All =
    [
        ("rtmpose-t", "RTMPose-t", 3_337_007),
        ("rtmpose-m", "RTMPose-m", 13_587_611),
        ("vitpose-s", "ViTPose-S", 24_290_193),
    ];

    public static IEnumerable<string> Names => All.Select(m => m.Name);

    private static readonly int[] CocoFlip = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15];

    public static (string Display, long Parameters) Info(string name)
    {
        foreach (var m in All)
            if (m.Name == name) return (m.Display, m.Parameters);
        throw new ArgumentException($"unknown benchmark model '{name}' (known: {string.Join(", ", Names)})");
    }

    public static TopdownPoseEstimator Build(string name)
    {
        var input = (Width, Height);
        switch (name)
        {
            case "rtmpose-t":
            case "rtmpose-m":
            {
                var (deepen, widen) = name == "rtmpose-t" ? (0.167, 0.375) : (0.67, 0.75);
                var backbone = new CSPNeXt(deepen, widen);
                var head = new RTMCCHead(backbone.OutChannels[0], 17, input, (Width / 32, Height / 32));
                return new TopdownPoseEstimator(backbone, head, new SimCCLabel(input, (4.9, 5.66), 2.0, normalize: false), CocoFlip);
            }
            case "vitpose-s":
            {
                var backbone = new VisionTransformer(384, 12, 12, 1536, input);
                var head = new HeatmapHead(384, 17);
                return new TopdownPoseEstimator(backbone, head, new MSRAHeatmap(input, (Width / 4, Height / 4), 2.0), CocoFlip);
            }
            default:
                throw new ArgumentException($"unknown benchmark model '{name}' (known: {string.Join(", ", Names)})");
        }
    }

    /// <summary>Whether <see cref="TopdownPoseEstimator.FoldBatchNorm"/> changes anything (it folds ConvModule BNs only).</summary>
    public static bool HasFoldableBatchNorm(TopdownPoseEstimator model) =>
        model.NamedModules().Any(m => m.Module is ConvModule { Bn: not null });
}
