using Distill.Torch;
using Distill.Torch.Nn;

namespace Distill.Onnx.Emitters;

/// <summary>Convolution weights with a BatchNorm folded in: (out-channel-scaled) weights of <see cref="WeightShape"/> and a bias.</summary>
public sealed record FoldedConv(float[] Weight, long[] WeightShape, float[] Bias);

/// <summary>
/// Folded weights for a convolution followed by inference-mode BatchNorm, computed in float64 into new arrays so
/// the model's own parameters never change: with s = gamma / sqrt(var + eps) per output channel, w' = w * s and
/// b' = beta + (b - mean) * s. Plain loops over copied values: a few hundred small tensor ops per model would cost
/// more in dispatch than the arithmetic.
/// </summary>
public static class BatchNormFolding
{
    /// <summary>Folds into a Conv2d, whose weights are (out, in / groups, kh, kw).</summary>
    public static FoldedConv Fold(Conv2d conv, BatchNorm2d bn)
    {
        CheckChannels(conv.OutChannels, bn);
        var (scale, bias) = ScaleAndBias(bn, conv.Bias);
        var w = Values(conv.Weight);
        long perChannel = w.Length / conv.OutChannels;
        var folded = new float[w.Length];
        for (long i = 0; i < w.Length; i++) folded[i] = (float)(w[i] * scale[i / perChannel]);
        return new FoldedConv(folded, conv.Weight.Shape, bias);
    }

    /// <summary>
    /// Folds into a ConvTranspose2d, whose weights are (in, out / groups, kh, kw): output channel
    /// g * (out / groups) + j is column j of the rows of group g.
    /// </summary>
    public static FoldedConv Fold(ConvTranspose2d conv, BatchNorm2d bn)
    {
        CheckChannels(conv.OutChannels, bn);
        var (scale, bias) = ScaleAndBias(bn, conv.Bias);
        var w = Values(conv.Weight);
        long groups = conv.Groups, outPerGroup = conv.OutChannels / groups, inPerGroup = conv.InChannels / groups;
        long kernel = conv.KernelSize * conv.KernelSize;
        var folded = new float[w.Length];
        for (long i = 0; i < w.Length; i++)
        {
            long row = i / (outPerGroup * kernel), column = i / kernel % outPerGroup;
            folded[i] = (float)(w[i] * scale[row / inPerGroup * outPerGroup + column]);
        }
        return new FoldedConv(folded, conv.Weight.Shape, bias);
    }

    private static (double[] Scale, float[] Bias) ScaleAndBias(BatchNorm2d bn, Tensor? convBias)
    {
        var gamma = Values(bn.Weight);
        var beta = Values(bn.Bias);
        var mean = Values(bn.RunningMean);
        var variance = Values(bn.RunningVar);
        var b = convBias is null ? null : Values(convBias);
        var scale = new double[gamma.Length];
        var bias = new float[gamma.Length];
        for (int c = 0; c < gamma.Length; c++)
        {
            scale[c] = gamma[c] / Math.Sqrt(variance[c] + bn.Eps);
            bias[c] = (float)(beta[c] + ((b?[c] ?? 0.0) - mean[c]) * scale[c]);
        }
        return (scale, bias);
    }

    private static double[] Values(Tensor t)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = Autograd.NoGrad();
        var copy = t.Detach().To(DType.Float64, Device.Cpu).Contiguous();
        return copy.ToArray<double>();
    }

    private static void CheckChannels(long channels, BatchNorm2d bn)
    {
        if (bn.NumFeatures != channels)
            throw new OnnxExportException($"cannot fold a BatchNorm of {bn.NumFeatures} features into a convolution of {channels} output channels");
    }
}
