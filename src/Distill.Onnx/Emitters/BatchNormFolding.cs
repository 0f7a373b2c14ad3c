using Distill.Torch;
using Distill.Torch.Nn;

namespace Distill.Onnx.Emitters;

/// <summary>
/// Folded weights for a convolution followed by inference-mode BatchNorm, computed in float64 as new tensors so the
/// model's own parameters never change: with s = gamma / sqrt(var + eps) per output channel, w' = w * s and
/// b' = beta + (b - mean) * s.
/// </summary>
public static class BatchNormFolding
{
    /// <summary>Folded (weight, bias) for a Conv2d (weights (out, in / groups, kh, kw)); the caller disposes both.</summary>
    public static (Tensor Weight, Tensor Bias) Fold(Conv2d conv, BatchNorm2d bn)
    {
        CheckChannels(conv.OutChannels, bn);
        using var scope = torch.NewDisposeScope();
        using var _ = Autograd.NoGrad();
        var (s, shift) = ScaleAndShift(bn, conv.Bias);
        var w = (conv.Weight.Double() * s.View(-1, 1, 1, 1)).Float();
        return (w.MoveToOuterDisposeScope(), shift.Float().MoveToOuterDisposeScope());
    }

    /// <summary>
    /// Folded (weight, bias) for a ConvTranspose2d, whose weights are (in, out / groups, kh, kw): output channel
    /// g * (out / groups) + j lives in group g, column j.
    /// </summary>
    public static (Tensor Weight, Tensor Bias) Fold(ConvTranspose2d conv, BatchNorm2d bn)
    {
        CheckChannels(conv.OutChannels, bn);
        using var scope = torch.NewDisposeScope();
        using var _ = Autograd.NoGrad();
        var (s, shift) = ScaleAndShift(bn, conv.Bias);
        long g = conv.Groups, cin = conv.InChannels, cout = conv.OutChannels, k = conv.KernelSize;
        var w = conv.Weight.Double().View(g, cin / g, cout / g, k, k) * s.View(g, 1, cout / g, 1, 1);
        return (w.View(cin, cout / g, k, k).Float().MoveToOuterDisposeScope(), shift.Float().MoveToOuterDisposeScope());
    }

    private static (Tensor Scale, Tensor Shift) ScaleAndShift(BatchNorm2d bn, Tensor? convBias)
    {
        var s = bn.Weight.Double() / (bn.RunningVar.Double() + bn.Eps).Sqrt();
        var centred = convBias is null ? bn.RunningMean.Double().Neg() : convBias.Double() - bn.RunningMean.Double();
        return (s, bn.Bias.Double() + centred * s);
    }

    private static void CheckChannels(long channels, BatchNorm2d bn)
    {
        if (bn.NumFeatures != channels)
            throw new OnnxExportException($"cannot fold a BatchNorm of {bn.NumFeatures} features into a convolution of {channels} output channels");
    }
}
