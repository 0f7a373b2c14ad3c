using Distill.Pose.Models.Layers;
using Distill.Torch;
using Distill.Torch.Nn;

namespace Distill.Pose.Models.Backbones;

/// <summary>3x3 ConvModule then a 5x5 depthwise-separable pair, with a residual when shapes allow and it is enabled.</summary>
public sealed class CSPNeXtBlock : Module<Tensor, Tensor>
{
    private readonly ConvModule _conv1;
    private readonly DepthwiseSeparableConvModule _conv2;
    private readonly bool _addIdentity;

    public ConvModule Conv1 => _conv1;
    public DepthwiseSeparableConvModule Conv2 => _conv2;

    /// <summary>Whether the block adds its input to its output (enabled and shapes allow it).</summary>
    public bool AddIdentity => _addIdentity;

    public CSPNeXtBlock(long cin, long cout, double expansion, bool addIdentity, long kernel = 5, double bnEps = 1e-5, double bnMomentum = 0.1)
    {
        long hidden = (long)(cout * expansion);
        _conv1 = RegisterModule("conv1", new ConvModule(cin, hidden, 3, 1, 1, bnEps: bnEps, bnMomentum: bnMomentum));
        _conv2 = RegisterModule("conv2", new DepthwiseSeparableConvModule(hidden, cout, kernel, bnEps: bnEps, bnMomentum: bnMomentum));
        _addIdentity = addIdentity && cin == cout;
    }

    public override Tensor Forward(Tensor x)
    {
        using var a = _conv1.Forward(x);
        var b = _conv2.Forward(a);
        if (!_addIdentity) return b;
        return b.Add_(x);
    }
}
