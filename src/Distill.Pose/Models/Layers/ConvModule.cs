using Distill.Torch;
using Distill.Torch.Nn;

namespace Distill.Pose.Models.Layers;

public enum Activation { None, ReLU, SiLU }

/// <summary>
/// Conv (no bias) + BatchNorm + activation, mmcv's ConvModule as the RTMPose family uses it. State-dict names:
/// <c>conv.weight</c>, <c>bn.*</c>. Once <see cref="FoldBatchNorm"/> has run, the conv carries the BN (with a bias).
/// </summary>
public sealed class ConvModule : Module<Tensor, Tensor>
{
    public Conv2d Conv { get; }
    public BatchNorm2d? Bn { get; private set; }
    public Activation Act { get; }

    public ConvModule(long cin, long cout, long kernel, long stride = 1, long padding = -1, long groups = 1,
        Activation act = Activation.SiLU, double bnEps = 1e-5, double bnMomentum = 0.1)
    {
        Conv = RegisterModule("conv", new Conv2d(cin, cout, kernel, stride, padding < 0 ? kernel / 2 : padding, 1, groups, bias: false));
        Bn = RegisterModule("bn", new BatchNorm2d(cout, bnEps, bnMomentum));
        Act = act;
    }

    public override Tensor Forward(Tensor x)
    {
        var y = Conv.Forward(x);
        if (Bn is not null)
        {
            var b = Bn.Forward(y);
            y.Dispose();
            y = b;
        }
        if (Act == Activation.None) return y;
        // Without autograd the activation can run in place and save an allocation per layer; with it, SiLU's
        // backward needs its input, so it must not be overwritten.
        if (!Autograd.IsGradEnabled)
            return Act == Activation.SiLU ? y.Silu_() : y.Relu_();
        using (y) return Act == Activation.SiLU ? y.Silu() : y.Relu();
    }

    /// <summary>
    /// Folds the BN into the conv for inference: w' = w * g / sqrt(var + eps), b' = beta - mean * g / sqrt(var + eps).
    /// The module then has no BN child, so only call it on frozen networks (teachers, export).
    /// </summary>
    public void FoldBatchNorm()
    {
        if (Bn is null) return;
        using var scope = torch.NewDisposeScope();
        using var _ = Autograd.NoGrad();
        var inv = (Bn.RunningVar + Bn.Eps).Rsqrt() * Bn.Weight;
        var w = Conv.Weight * inv.View(-1, 1, 1, 1);
        var b = Bn.Bias - Bn.RunningMean * inv;
        if (Conv.Bias is not null) b = b + Conv.Bias * inv;
        Conv.SetWeightAndBias(w.DetachFromDisposeScope(), b.Detach().DetachFromDisposeScope());
        w.Dispose();
        RemoveBatchNorm();
    }

    private void RemoveBatchNorm()
    {
        var bn = Bn!;
        Bn = null;
        UnregisterModule("bn");
        bn.Dispose();
    }
}

/// <summary>Depthwise k x k ConvModule then pointwise 1x1 ConvModule (mmcv's DepthwiseSeparableConvModule).</summary>
public sealed class DepthwiseSeparableConvModule : Module<Tensor, Tensor>
{
    public ConvModule DepthwiseConv { get; }
    public ConvModule PointwiseConv { get; }

    public DepthwiseSeparableConvModule(long cin, long cout, long kernel, long stride = 1, Activation act = Activation.SiLU,
        double bnEps = 1e-5, double bnMomentum = 0.1)
    {
        DepthwiseConv = RegisterModule("depthwise_conv", new ConvModule(cin, cin, kernel, stride, kernel / 2, cin, act, bnEps, bnMomentum));
        PointwiseConv = RegisterModule("pointwise_conv", new ConvModule(cin, cout, 1, 1, 0, 1, act, bnEps, bnMomentum));
    }

    public override Tensor Forward(Tensor x)
    {
        using var d = DepthwiseConv.Forward(x);
        return PointwiseConv.Forward(d);
    }
}
