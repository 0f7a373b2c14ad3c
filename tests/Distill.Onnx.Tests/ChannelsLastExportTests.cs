using Distill.Onnx.Tests.Support;
using Distill.Pose.Models;
using Distill.Torch;

namespace Distill.Onnx.Tests;

/// <summary>
/// A model whose weights are stored channels-last (a student trained so, or a teacher frozen so) exports the same
/// graph, byte for byte, as its default-layout twin: initializers are written in logical (row-major) order, whatever
/// the strides in memory, and BN folding of NHWC weights gives the same numbers.
/// </summary>
public sealed class ChannelsLastExportTests : IDisposable
{
    private readonly string _dir = TestData.TempDirectory("channels-last");

    public void Dispose() => TestData.DeleteDirectory(_dir);

    private static (TopdownPoseEstimator Plain, TopdownPoseEstimator Nhwc) Twins()
    {
        var plain = PoseModels.SimccStudent(17, (192, 256), (4.9, 5.66));
        var nhwc = PoseModels.SimccStudent(17, (192, 256), (4.9, 5.66));
        nhwc.LoadStateDict(plain.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value));
        nhwc.ToChannelsLast();
        var stem = nhwc.Parameters().First(p => p.Dim == 4);
        Assert.True(stem.IsContiguous(MemoryFormat.ChannelsLast) && !stem.IsContiguous());
        return (plain, nhwc);
    }

    private byte[] Export(TopdownPoseEstimator model, string name, OnnxExportOptions options)
    {
        var path = Path.Combine(_dir, name + ".onnx");
        OnnxExporter.ExportToFile(model, path, options);
        return File.ReadAllBytes(path);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ChannelsLastWeightsExportTheSameGraph(bool foldBatchNorm)
    {
        var (plain, nhwc) = Twins();
        using (plain)
        using (nhwc)
        {
            var options = new OnnxExportOptions { FoldBatchNorm = foldBatchNorm };
            var a = Export(plain, "plain", options);
            var b = Export(nhwc, "nhwc", options);
            Assert.Equal(a, b);
        }
    }

    [Fact]
    public void BatchNormFoldedInChannelsLastExportsAsFoldedInTheDefaultLayout()
    {
        var (plain, nhwc) = Twins();
        using (plain)
        using (nhwc)
        {
            // The self-teacher and frozen teachers fold BN after (or before) going channels-last; the folded weights are
            // the same per-element products either way.
            plain.FoldBatchNorm();
            nhwc.FoldBatchNorm();
            Assert.Equal(Export(plain, "plain-folded", new OnnxExportOptions()), Export(nhwc, "nhwc-folded", new OnnxExportOptions()));
        }
    }
}
