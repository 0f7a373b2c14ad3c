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
