using Distill.Pose.Models.Backbones;
using Distill.Pose.Models.Heads;
using Distill.Torch;
using Distill.Torch.Nn;

namespace Distill.Pose.Tests.Models;

public class ParameterCountTests
{
    // Published/official counts for the 17-keypoint 256x192 models (pose-facts.md and the RTMPose-t fixture).
    [Theory]
    [InlineData(0.167, 0.375, 3_337_007L)]
    [InlineData(0.33, 0.5, 5_473_251L)]
    [InlineData(0.67, 0.75, 13_587_611L)]
    public void RtmPoseParameterCounts(double deepen, double widen, long expected)
    {
        using var backbone = new CSPNeXt(deepen, widen);
        using var head = new RTMCCHead(backbone.OutChannels[0], 17, (192, 256), (6, 8));
        Assert.Equal(expected, backbone.NumParameters() + head.NumParameters());
    }
}

public class VitParameterCountTests
{
    [Theory]
    [InlineData(384, 12, 12, 1536, 24_290_193L)] // ViTPose-S (pose-facts.md)
    [InlineData(192, 4, 3, 768, 3_804_753L)]     // the narrowed fixture model (fixture README)
    public void VitPoseParameterCounts(long dims, int layers, long heads, long ffn, long expected)
    {
        using var backbone = new VisionTransformer(dims, layers, heads, ffn, (192, 256));
        using var head = new HeatmapHead(dims, 17);
        Assert.Equal(expected, backbone.NumParameters() + head.NumParameters());
    }
}

public class FlopTests
{
    // Published RTMPose FLOPs at 256x192 (pose-facts.md): t 0.36 G, s 0.68 G, m 1.93 G. Our count (MACs of conv,
    // linear and matmul) must land within 3% of them.
    [Theory]
    [InlineData(0.167, 0.375, 0.36)]
    [InlineData(0.33, 0.5, 0.68)]
    [InlineData(0.67, 0.75, 1.93)]
    public void RtmPoseFlopsMatchPublishedFigures(double deepen, double widen, double gflops)
    {
        var backbone = new CSPNeXt(deepen, widen);
        var head = new RTMCCHead(backbone.OutChannels[0], 17, (192, 256), (6, 8));
        var codec = new Distill.Pose.Codecs.SimCCLabel((192, 256), (4.9, 5.66), 2.0, normalize: false);
        using var model = new Distill.Pose.Models.TopdownPoseEstimator(backbone, head, codec,
            [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]);
        var s = Distill.Pose.Models.ModelSummary.Of(model);
        Assert.InRange(s.Flops / 1e9, gflops * 0.97, gflops * 1.03);
        Assert.Contains(s.Rows, r => r.Module == "backbone.stage4");
        Assert.Equal(model.NumParameters(), s.TotalParameters);
    }
}
