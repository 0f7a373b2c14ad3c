using Distill.Onnx.Emitters;
using Distill.Onnx.Tests.Support;
using Distill.Torch;
using Distill.Torch.Nn;

namespace Distill.Onnx.Tests;

/// <summary>A folded convolution computes what the convolution followed by inference-mode BatchNorm computes (in libtorch).</summary>
public sealed class BatchNormFoldingTests
{
    private static BatchNorm2d RandomBatchNorm(long channels, Generator g)
    {
        var bn = new BatchNorm2d(channels, eps: 1e-3);
        using var _ = Autograd.NoGrad();
        bn.Weight.Uniform_(0.5, 1.5, g);
        bn.Bias.Normal_(0, 0.5, g);
        bn.RunningMean.Normal_(0, 0.5, g);
        bn.RunningVar.Uniform_(0.2, 2.0, g);
        bn.Eval();
        return bn;
    }

    private static Tensor FromFolded(FoldedConv f) => torch.FromArray(f.Weight, f.WeightShape);

    [Fact]
    public void GroupedConvWithBiasFolds()
    {
        using var g = new Generator(21);
        using var conv = new Conv2d(6, 4, 3, 1, 1, groups: 2, bias: true);
        using var bn = RandomBatchNorm(4, g);
        using var scope = torch.NewDisposeScope();
        using var _ = Autograd.NoGrad();
        var x = torch.Randn([2, 6, 5, 5], g);
        var expected = bn.Forward(conv.Forward(x));
        var folded = BatchNormFolding.Fold(conv, bn);
        var actual = Functional.Conv2d(x, FromFolded(folded), torch.FromArray(folded.Bias, [4]), (1, 1), (1, 1), (1, 1), 2);
        Expect.Close(expected.ToArray<float>(), actual.ToArray<float>(), 1e-5, "folded grouped conv");
        Assert.Equal(conv.Weight.Shape, folded.WeightShape);
    }

    [Fact]
    public void GroupedTransposedConvFoldsPerOutputChannel()
    {
        using var g = new Generator(22);
        using var deconv = new ConvTranspose2d(4, 6, 4, 2, 1, groups: 2, bias: false);
        using var bn = RandomBatchNorm(6, g);
        using var scope = torch.NewDisposeScope();
        using var _ = Autograd.NoGrad();
        var x = torch.Randn([2, 4, 3, 3], g);
        var expected = bn.Forward(deconv.Forward(x));
        var folded = BatchNormFolding.Fold(deconv, bn);
        var actual = Functional.ConvTranspose2d(x, FromFolded(folded), torch.FromArray(folded.Bias, [6]), (2, 2), (1, 1), (0, 0), 2);
        Expect.Close(expected.ToArray<float>(), actual.ToArray<float>(), 1e-5, "folded grouped transposed conv");
    }

    [Fact]
    public void MismatchedChannelsAreRefused()
    {
        using var conv = new Conv2d(3, 4, 1);
        using var bn = new BatchNorm2d(5);
        var e = Assert.Throws<OnnxExportException>(() => BatchNormFolding.Fold(conv, bn));
        Assert.Contains("5 features", e.Message);
    }
}
