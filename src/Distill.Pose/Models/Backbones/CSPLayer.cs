using Distill.Pose.Models.Layers;
using Distill.Torch;
using Distill.Torch.Nn;

namespace Distill.Pose.Models.Backbones;

/// <summary>
/// Cross-stage partial layer: a main branch (1x1 conv, then blocks) and a short branch (1x1 conv), concatenated,
/// optionally gated by channel attention, then fused by a 1x1 conv.
/// </summary>
public sealed class CSPLayer : Module<Tensor, Tensor>
{
    private readonly ConvModule _main, _short, _final;
    private readonly Sequential _blocks;
    private readonly ChannelAttention? _attention;

    public ConvModule MainConv => _main;
    public ConvModule ShortConv => _short;
    public ConvModule FinalConv => _final;
    public Sequential Blocks => _blocks;
    public ChannelAttention? Attention => _attention;

    public CSPLayer(long cin, long cout, int numBlocks, bool addIdentity, bool channelAttention, double expandRatio = 0.5,
        double bnEps = 1e-5, double bnMomentum = 0.1)
    {
        long mid = (long)(cout * expandRatio);
        _main = RegisterModule("main_conv", new ConvModule(cin, mid, 1, bnEps: bnEps, bnMomentum: bnMomentum));
        _short = RegisterModule("short_conv", new ConvModule(cin, mid, 1, bnEps: bnEps, bnMomentum: bnMomentum));
        _final = RegisterModule("final_conv", new ConvModule(2 * mid, cout, 1, bnEps: bnEps, bnMomentum: bnMomentum));
        _blocks = new Sequential();
        for (int i = 0; i < numBlocks; i++) _blocks.Append(new CSPNeXtBlock(mid, mid, 1.0, addIdentity, 5, bnEps, bnMomentum));
        RegisterModule("blocks", _blocks);
        if (channelAttention) _attention = RegisterModule("attention", new ChannelAttention(2 * mid));
    }

    public override Tensor Forward(Tensor x)
    {
        using var s = _short.Forward(x);
        using var m0 = _main.Forward(x);
        using var m = _blocks.Forward(m0);
        using var cat = torch.Cat([m, s], 1);
        if (_attention is null) return _final.Forward(cat);
        using var att = _attention.Forward(cat);
        return _final.Forward(att);
    }
}
