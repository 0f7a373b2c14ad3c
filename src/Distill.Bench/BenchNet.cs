using Distill.Torch;
using Distill.Torch.Nn;

namespace Distill.Bench;

/// <summary>Conv (no bias) + BN + SiLU, the unit every RTMPose-like stage is made of.</summary>
internal sealed class ConvBnAct : Module<Tensor, Tensor>
{
    private readonly Conv2d _conv;
    private readonly BatchNorm2d _bn;

    public ConvBnAct(long cin, long cout, long k, long stride = 1, long groups = 1)
    {
        _conv = RegisterModule("conv", new Conv2d(cin, cout, k, stride, k / 2, 1, groups, bias: false));
        _bn = RegisterModule("bn", new BatchNorm2d(cout));
    }

    public override Tensor Forward(Tensor x)
    {
        using var c = _conv.Forward(x);
        using var b = _bn.Forward(c);
        return b.Silu();
    }
}

/// <summary>3x3 conv, then a depthwise 5x5 + pointwise pair, with a residual: the shape of a CSPNeXt block.</summary>
internal sealed class BenchBlock : Module<Tensor, Tensor>
{
    private readonly ConvBnAct _conv1, _dw, _pw;

    public BenchBlock(long c)
    {
        _conv1 = RegisterModule("conv1", new ConvBnAct(c, c, 3));
        _dw = RegisterModule("dw", new ConvBnAct(c, c, 5, groups: c));
        _pw = RegisterModule("pw", new ConvBnAct(c, c, 1));
    }

    public override Tensor Forward(Tensor x)
    {
        using var a = _conv1.Forward(x);
        using var b = _dw.Forward(a);
        using var c = _pw.Forward(b);
        return c.Add(x);
    }
}

/// <summary>
/// The fixed benchmark network: an RTMPose-t-shaped CNN (stem 12/12/24, stride-2 stages of 48, 96, 192, 384
/// channels, one block each) with a 1x1 conv to 17 maps. bench_torch.py builds the identical graph in PyTorch.
/// </summary>
internal sealed class BenchNet : Module<Tensor, Tensor>
{
    private readonly Sequential _layers = new();
    private readonly Conv2d _head;

    public BenchNet()
    {
        _layers.Append(new ConvBnAct(3, 12, 3, 2)).Append(new ConvBnAct(12, 12, 3)).Append(new ConvBnAct(12, 24, 3));
        long cin = 24;
        foreach (long cout in new long[] { 48, 96, 192, 384 })
        {
            _layers.Append(new ConvBnAct(cin, cout, 3, 2)).Append(new BenchBlock(cout));
            cin = cout;
        }
        RegisterModule("layers", _layers);
        _head = RegisterModule("head", new Conv2d(384, 17, 1));
    }

    public override Tensor Forward(Tensor x)
    {
        using var f = _layers.Forward(x);
        return _head.Forward(f);
    }
}
