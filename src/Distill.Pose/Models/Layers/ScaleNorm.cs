using Distill.Torch;
using Distill.Torch.Nn;

namespace Distill.Pose.Models.Layers;

/// <summary>ScaleNorm: x / clamp(||x||_2 * dim^-0.5, eps) * g, with a single learned scalar g.</summary>
public sealed class ScaleNorm : Module<Tensor, Tensor>
{
    public double Scale { get; }
    public double Eps { get; }
    public Tensor G { get; }

    public ScaleNorm(long dim, double eps = 1e-5)
    {
        Scale = Math.Pow(dim, -0.5);
        Eps = eps;
        G = RegisterParameter("g", torch.Ones([1]));
    }

    public override Tensor Forward(Tensor x)
    {
        using var n = x.Norm(2, [-1], keepdim: true);
        // Out of place: the norm's backward needs its own output unchanged.
        using var scaled = n * Scale;
        using var s = scaled.ClampMin(Eps);
        using var d = x / s;
        return d * G;
    }
}

/// <summary>A learnable per-channel scale (mmpose's Scale): x * scale.</summary>
public sealed class ChannelScale : Module<Tensor, Tensor>
{
    public Tensor ScaleParam { get; }

    public ChannelScale(long dim, double init = 1.0) => ScaleParam = RegisterParameter("scale", torch.Full([dim], init));

    public override Tensor Forward(Tensor x) => x * ScaleParam;
}

/// <summary>Squeeze-excite style channel gate: x * hardsigmoid(fc(avgpool(x))), fc a 1x1 conv with bias.</summary>
public sealed class ChannelAttention : Module<Tensor, Tensor>
{
    public Conv2d Fc { get; }

    public ChannelAttention(long channels) => Fc = RegisterModule("fc", new Conv2d(channels, channels, 1, bias: true));

    public override Tensor Forward(Tensor x)
    {
        using var p = x.Mean([2, 3], keepdim: true);
        using var f = Fc.Forward(p);
        using var g = f.Hardsigmoid();
        return x * g;
    }
}
