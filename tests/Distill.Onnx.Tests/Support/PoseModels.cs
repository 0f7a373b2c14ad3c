using Distill.Pose.Codecs;
using Distill.Pose.Models;
using Distill.Pose.Models.Backbones;
using Distill.Pose.Models.Heads;
using Distill.TestSupport;
using Distill.Torch;
using Distill.Torch.Nn;
using Distill.Torch.Serialization;

namespace Distill.Onnx.Tests.Support;

/// <summary>The models the exporter is checked on: mmpose fixtures with their weights, and randomly initialised students.</summary>
public static class PoseModels
{
    public static readonly int[] CocoFlip = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15];

    public const string RtmposeFixture = "rtmpose-t_coco_256x192";
    public const string VitFixture = "vit-tiny4_coco_256x192";

    /// <summary>RTMPose-t (COCO, 256x192) exactly as the fixture's mmpose config builds it, with the fixture's weights.</summary>
    public static TopdownPoseEstimator RtmposeT()
    {
        var model = new TopdownPoseEstimator(
            new CSPNeXt(0.167, 0.375),
            new RTMCCHead(384, 17, (192, 256), (6, 8)),
            new SimCCLabel((192, 256), (4.9, 5.66), 2.0, normalize: false),
            CocoFlip);
        Load(model, SharedData.Fixture(RtmposeFixture, RtmposeFixture + ".safetensors"));
        return model;
    }

    /// <summary>The narrowed ViTPose fixture (192 dims, 4 layers, 3 heads, ffn 768; two 256-channel deconvs; UDP codec).</summary>
    public static TopdownPoseEstimator VitTiny4(IKeypointCodec? codec = null)
    {
        var model = new TopdownPoseEstimator(
            new VisionTransformer(192, 4, 3, 768, (192, 256)),
            new HeatmapHead(192, 17),
            codec ?? new UDPHeatmap((192, 256), (48, 64), 2.0),
            CocoFlip);
        Load(model, SharedData.Fixture(VitFixture, VitFixture + ".safetensors"));
        return model;
    }

    private static void Load(TopdownPoseEstimator model, string path)
    {
        var dict = SafeTensors.Load(path);
        try
        {
            model.LoadStateDict(dict);
        }
        finally
        {
            foreach (var t in dict.Values) t.Dispose();
        }
        model.Eval();
    }

    /// <summary>CSPNeXt-t with an RTMCC head for <paramref name="keypoints"/> keypoints at the given input size (random weights).</summary>
    public static TopdownPoseEstimator SimccStudent(int keypoints, (int W, int H) input, (double X, double Y) sigma)
    {
        var model = new TopdownPoseEstimator(
            new CSPNeXt(0.167, 0.375),
            new RTMCCHead(384, keypoints, input, (input.W / 32, input.H / 32)),
            new SimCCLabel(input, sigma, 2.0, normalize: false),
            Enumerable.Range(0, keypoints).ToArray());
        return Randomise(model);
    }

    /// <summary>
    /// Gives every BatchNorm non-trivial statistics and affine parameters, so folding them is actually exercised
    /// (fresh layers hold mean 0, var 1, weight 1, bias 0).
    /// </summary>
    public static TopdownPoseEstimator Randomise(TopdownPoseEstimator model, ulong seed = 7)
    {
        using var g = new Generator(seed);
        using var _ = Autograd.NoGrad();
        foreach (var (_, m) in model.NamedModules())
        {
            if (m is not BatchNorm2d bn) continue;
            bn.Weight.Uniform_(0.5, 1.5, g);
            bn.Bias.Normal_(0, 0.1, g);
            bn.RunningMean.Normal_(0, 0.1, g);
            bn.RunningVar.Uniform_(0.5, 1.5, g);
        }
        model.Eval();
        return model;
    }
}
