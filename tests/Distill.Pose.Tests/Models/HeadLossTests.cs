using Distill.Pose.Models;
using Distill.Pose.Models.Options;

namespace Distill.Pose.Tests.Models;

/// <summary>losses.gt.type names the loss the head computes, or is refused: a config never trains with a loss it did not ask for.</summary>
public sealed class HeadLossTests
{
    private static ModelOptions Tiny(HeadType head, CodecType codec) => new()
    {
        KeypointSet = "coco17",
        InputSize = [48, 64],
        Backbone = new BackboneOptions { Type = BackboneType.CSPNeXt, DeepenFactor = 0.167, WidenFactor = 0.125 },
        Head = new HeadOptions { Type = head, Gau = new GauOptions { HiddenDims = 32, S = 16 } },
        Codec = new CodecOptions { Type = codec },
    };

    [Theory]
    [InlineData(HeadType.RTMCCHead, CodecType.SimCCLabel, GtLossType.KeypointMSELoss, "RTMCCHead trains with KLDiscretLoss")]
    [InlineData(HeadType.HeatmapHead, CodecType.MSRAHeatmap, GtLossType.KLDiscretLoss, "HeatmapHead trains with KeypointMSELoss")]
    [InlineData(HeadType.RegressionHead, CodecType.RegressionLabel, GtLossType.KeypointMSELoss, "RegressionHead trains with RegressionMSE")]
    public void ALossTheHeadDoesNotComputeIsRefusedByKey(HeadType head, CodecType codec, GtLossType asked, string says)
    {
        var e = Assert.Throws<ArgumentException>(() => ModelFactory.Build(Tiny(head, codec), new GtLossOptions { Type = asked }));
        Assert.StartsWith("losses.gt.type:", e.Message);
        Assert.Contains(says, e.Message);
    }

    [Theory]
    [InlineData(HeadType.RTMCCHead, CodecType.SimCCLabel, GtLossType.KLDiscretLoss)]
    [InlineData(HeadType.HeatmapHead, CodecType.MSRAHeatmap, GtLossType.KeypointMSELoss)]
    [InlineData(HeadType.RegressionHead, CodecType.RegressionLabel, GtLossType.RegressionMSE)]
    public void TheHeadsOwnLossOrNoneBuilds(HeadType head, CodecType codec, GtLossType own)
    {
        var (a, _) = ModelFactory.Build(Tiny(head, codec), new GtLossOptions { Type = own });
        a.Dispose();
        var (b, _) = ModelFactory.Build(Tiny(head, codec), new GtLossOptions());
        b.Dispose();
    }
}
