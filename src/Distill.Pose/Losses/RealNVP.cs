using Distill.Torch;
using Distill.Torch.Nn;

namespace Distill.Pose.Losses;

/// <summary>
/// The 2-d RealNVP flow of mmpose's RLE loss: six affine coupling layers with alternating masks (0, 1), (1, 0), ...;
/// layer i has a scale net s[i] (Linear 2-64, LeakyReLU, Linear 64-64, LeakyReLU, Linear 64-2, Tanh) and a translation
/// net t[i] (the same without the Tanh), Linear weights drawn Xavier-uniform with gain 0.01. Names follow mmpose's
/// (s.I.0.weight, t.I.4.bias, buffers loc, cov, mask), so RLE checkpoints load.
/// </summary>
/// <remarks>
/// <see cref="LogProb"/> runs the layers from last to first, each z = m z + (1 - m)(z - t(m z)) exp(-s(m z)) with s and t
/// masked by (1 - m), accumulating log|det| = -sum of s, and adds the log-density of the standard normal prior at the
/// result: log p(x) = -log(2 pi) - |z|^2 / 2 - sum s.
/// </remarks>
public sealed class RealNVP : Module
{
    public const int Layers = 6, Hidden = 64;

    private readonly Tensor _mask;
    private readonly ModuleList<Sequential> _s, _t;

    public RealNVP()
    {
        RegisterBuffer("loc", torch.Zeros([2]));
        RegisterBuffer("cov", torch.Eye(2));
        var mask = new float[Layers * 2];
        for (int i = 0; i < Layers; i++) mask[2 * i + (i % 2 == 0 ? 1 : 0)] = 1;
        _mask = RegisterBuffer("mask", torch.FromArray(mask, [Layers, 2]));
        _s = RegisterModule("s", new ModuleList<Sequential>(Enumerable.Range(0, Layers).Select(_ => Net(tanh: true))));
        _t = RegisterModule("t", new ModuleList<Sequential>(Enumerable.Range(0, Layers).Select(_ => Net(tanh: false))));
        using (Autograd.NoGrad())
            foreach (var net in _s.Concat(_t))
                for (int i = 0; i < net.Count; i++)
                    if (net[i] is Linear l) Init.XavierUniform_(l.Weight, gain: 0.01);
    }

    public IReadOnlyList<Sequential> ScaleNets => _s;

    public IReadOnlyList<Sequential> TranslationNets => _t;

    private static Sequential Net(bool tanh)
    {
        var net = new Sequential(new Linear(2, Hidden), new LeakyReLU(), new Linear(Hidden, Hidden), new LeakyReLU(), new Linear(Hidden, 2));
        return tanh ? net.Append(new Tanh()) : net;
    }

    /// <summary>log p(x) for points (M, 2); returns (M).</summary>
    public Tensor LogProb(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var z = x;
        var logDet = torch.ZerosLike(x.Narrow(1, 0, 1)).Squeeze(1);
        for (int i = Layers - 1; i >= 0; i--)
        {
            var m = _mask[i];
            var inv = 1 - m;
            var zm = z * m;
            var s = _s[i].Forward(zm) * inv;
            var t = _t[i].Forward(zm) * inv;
            z = inv * (z - t) * (-s).Exp() + zm;
            logDet = logDet - s.Sum(1);
        }
        // The standard normal prior in two dimensions: -log(2 pi) - |z|^2 / 2.
        var prior = z.Square().Sum(1) * -0.5 - Math.Log(2 * Math.PI);
        return (prior + logDet).MoveToOuterDisposeScope();
    }

    /// <summary>PyTorch's LeakyReLU with its default slope 0.01.</summary>
    private sealed class LeakyReLU : Module<Tensor, Tensor>
    {
        public override Tensor Forward(Tensor x) => Functional.LeakyRelu(x, 0.01);
    }

    private sealed class Tanh : Module<Tensor, Tensor>
    {
        public override Tensor Forward(Tensor x) => x.Tanh();
    }
}
