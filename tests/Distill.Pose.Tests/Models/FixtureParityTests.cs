using System.Text.Json;
using Distill.Pose.Codecs;
using Distill.Pose.Models;
using Distill.Pose.Models.Backbones;
using Distill.Pose.Models.Heads;
using Distill.TestSupport;
using Distill.Torch;
using Distill.Torch.Serialization;

namespace Distill.Pose.Tests.Models;

/// <summary>
/// Our networks against outputs that mmpose's own code produced for the same weights and input
/// (../shared/fixtures, see its README for tolerances).
/// </summary>
public class FixtureParityTests
{
    internal static Tensor ReadBin(string path, long[] shape)
    {
        var bytes = File.ReadAllBytes(path);
        return torch.FromBytes(bytes, DType.Float32, shape);
    }

    internal static void AssertClose(Tensor expected, Tensor actual, double atol, double rtol, string what)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        using var diff = (expected - actual).Abs();
        using var tol = expected.Abs() * rtol + atol;
        using var bad = diff.Gt(tol);
        long nBad = bad.Sum().ItemLong();
        Assert.True(nBad == 0, $"{what}: {nBad} elements differ, max abs diff {diff.Max().ItemDouble():G4}");
    }

    internal static TopdownPoseEstimator RtmPoseT()
    {
        var backbone = new CSPNeXt(0.167, 0.375);
        var head = new RTMCCHead(384, 17, (192, 256), (6, 8));
        var codec = new SimCCLabel((192, 256), (4.9, 5.66), 2.0, normalize: false);
        int[] flip = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15];
        return new TopdownPoseEstimator(backbone, head, codec, flip);
    }

    [Theory]
    [InlineData("safetensors")]
    [InlineData("pth")]
    public void RtmPoseTMatchesMmpose(string format)
    {
        var dir = SharedData.Fixture("rtmpose-t_coco_256x192");
        using var model = RtmPoseT();
        var file = Path.Combine(dir, "rtmpose-t_coco_256x192." + format);
        var sd = format == "pth" ? StateDictLoader.LoadStateDict(file) : SafeTensors.Load(file);
        var report = model.LoadStateDict(sd);
        Assert.True(report.IsClean, report.ToString());
        sd.DisposeTensors();
        model.Eval();
        using var scope = torch.NewDisposeScope();
        using var _ = Autograd.InferenceMode();
        var input = ReadBin(Path.Combine(dir, "input.bin"), [2, 3, 256, 192]);
        var outs = model.ForwardWithFeatures(input);
        AssertClose(ReadBin(Path.Combine(dir, "backbone_out.bin"), [2, 384, 8, 6]), outs.Features[0], 1e-4, 1e-4, "backbone");
        AssertClose(ReadBin(Path.Combine(dir, "simcc_x.bin"), [2, 17, 384]), outs["simcc_x"], 1e-3, 0, "simcc_x");
        AssertClose(ReadBin(Path.Combine(dir, "simcc_y.bin"), [2, 17, 512]), outs["simcc_y"], 1e-3, 0, "simcc_y");

        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "fixture.json")));
        var decoded = model.Codec.Decode(outs["simcc_x"], outs["simcc_y"]);
        var kp = json.RootElement.GetProperty("decoded").GetProperty("codec").GetProperty("keypoints");
        var sc = json.RootElement.GetProperty("decoded").GetProperty("codec").GetProperty("scores");
        for (int n = 0; n < 2; n++)
            for (int k = 0; k < 17; k++)
            {
                // Decoded SimCC keypoints match exactly (argmax bins / 2).
                Assert.Equal(kp[n][k][0].GetDouble(), decoded.Keypoints[n, k, 0]);
                Assert.Equal(kp[n][k][1].GetDouble(), decoded.Keypoints[n, k, 1]);
                Assert.Equal(sc[n][k].GetDouble(), decoded.Scores[n, k], 2);
            }
    }

    [Fact]
    public void RtmPoseTFlipTestInImageCoordinatesMatchesMmpose()
    {
        var dir = SharedData.Fixture("rtmpose-t_coco_256x192");
        using var model = RtmPoseT();
        var sd = SafeTensors.Load(Path.Combine(dir, "rtmpose-t_coco_256x192.safetensors"));
        model.LoadStateDict(sd);
        sd.DisposeTensors();
        model.Eval();
        using var scope = torch.NewDisposeScope();
        using var _ = Autograd.InferenceMode();
        var input = ReadBin(Path.Combine(dir, "input.bin"), [2, 3, 256, 192]);
        var decoded = model.Predict(input, flipTest: true);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "fixture.json")));
        var ft = json.RootElement.GetProperty("predict_flip_test");
        var boxes = ft.GetProperty("boxes");
        var expected = ft.GetProperty("keypoints");
        for (int n = 0; n < 2; n++)
        {
            var c = boxes[n].GetProperty("input_center");
            var s = boxes[n].GetProperty("input_scale");
            for (int k = 0; k < 17; k++)
            {
                // kpt_img = kpt_input / input_size * input_scale + input_center - 0.5 * input_scale
                double x = decoded.Keypoints[n, k, 0] / 192.0 * s[0].GetDouble() + c[0].GetDouble() - 0.5 * s[0].GetDouble();
                double y = decoded.Keypoints[n, k, 1] / 256.0 * s[1].GetDouble() + c[1].GetDouble() - 0.5 * s[1].GetDouble();
                Assert.Equal(expected[n][0][k][0].GetDouble(), x, 3);
                Assert.Equal(expected[n][0][k][1].GetDouble(), y, 3);
            }
        }
    }

    internal static TopdownPoseEstimator VitTiny()
    {
        var backbone = new VisionTransformer(192, 4, 3, 768, (192, 256));
        var head = new HeatmapHead(192, 17);
        var codec = new UDPHeatmap((192, 256), (48, 64), 2.0);
        int[] flip = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15];
        return new TopdownPoseEstimator(backbone, head, codec, flip);
    }

    [Fact]
    public void VitPoseTinyMatchesMmpose()
    {
        var dir = SharedData.Fixture("vit-tiny4_coco_256x192");
        using var model = VitTiny();
        var sd = StateDictLoader.LoadStateDict(Path.Combine(dir, "vit-tiny4_coco_256x192.pth"));
        var report = model.LoadStateDict(sd);
        Assert.True(report.IsClean, report.ToString());
        sd.DisposeTensors();
        model.Eval();
        using var scope = torch.NewDisposeScope();
        using var _ = Autograd.InferenceMode();
        var input = ReadBin(Path.Combine(dir, "input.bin"), [2, 3, 256, 192]);
        var outs = model.ForwardWithFeatures(input);
        AssertClose(ReadBin(Path.Combine(dir, "backbone_out.bin"), [2, 192, 16, 12]), outs.Features[0], 1e-4, 1e-4, "backbone");
        AssertClose(ReadBin(Path.Combine(dir, "heatmaps.bin"), [2, 17, 64, 48]), outs["heatmaps"], 1e-4, 1e-3, "heatmaps");
    }
}
