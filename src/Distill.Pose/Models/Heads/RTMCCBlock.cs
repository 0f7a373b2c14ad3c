using Distill.Pose.Models.Layers;
using Distill.Torch;
using Distill.Torch.Nn;

namespace Distill.Pose.Models.Heads;

/// <summary>
/// Gated attention unit over keypoint tokens (RTMPose's GAU, self-attention form): u, v, base from one projection;
/// q, k = base * gamma + beta; kernel = relu(q k^T / sqrt(s))^2; out = o(u * (kernel @ v)); residual on the pre-norm
/// input scaled per channel.
/// </summary>
public sealed class RTMCCBlock : Module<Tensor, Tensor>
{
    private readonly long _e, _s;
    private readonly double _sqrtS;
    private readonly Tensor _gamma, _beta;
    private readonly Linear _o, _uv;
    private readonly ScaleNorm _ln;
    private readonly ChannelScale? _resScale;
    private readonly DropPath? _dropPath;
    private readonly double _dropout;

    /// <summary>Width of u and v, token dims x expansion factor.</summary>
    public long ExpandedDims => _e;

    /// <summary>Width of the shared base from which q and k are made.</summary>
    public long S => _s;

    /// <summary>Per-row scale (2, s) turning the base into q (row 0) and k (row 1).</summary>
    public Tensor Gamma => _gamma;

    /// <summary>Per-row offset (2, s) for q (row 0) and k (row 1).</summary>
    public Tensor Beta => _beta;

    public Linear O => _o;
    public Linear Uv => _uv;
    public ScaleNorm Ln => _ln;
    public ChannelScale? ResScale => _resScale;

    public RTMCCBlock(long tokenDims, long outDims, long s = 128, double expansionFactor = 2, double dropoutRate = 0,
        double dropPath = 0, double eps = 1e-5)
    {
        _e = (long)(tokenDims * expansionFactor);
        _s = s;
        _sqrtS = Math.Sqrt(s);
        _dropout = dropoutRate;
        // Registration order follows the reference implementation's state dict: gamma, beta, o, uv, ln, res_scale.
        _gamma = RegisterParameter("gamma", torch.Rand([2, s]));
        _beta = RegisterParameter("beta", torch.Rand([2, s]));
        _o = RegisterModule("o", new Linear(_e, outDims, bias: false));
        _uv = RegisterModule("uv", new Linear(tokenDims, 2 * _e + s, bias: false));
        Init.XavierUniform_(_uv.Weight);
        _ln = RegisterModule("ln", new ScaleNorm(tokenDims, eps));
        if (tokenDims == outDims) _resScale = RegisterModule("res_scale", new ChannelScale(tokenDims));
        if (dropPath > 0) _dropPath = new DropPath(dropPath);
    }

    public override Tensor Forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var y = _ln.Forward(x);
        var uv = _uv.Forward(y).Silu();
        var parts = uv.Split([_e, _e, _s], 2);
        Tensor u = parts[0], v = parts[1], b = parts[2];
        // (B, K, 1, s) * (2, s) + (2, s) -> (B, K, 2, s)
        var qk = b.Unsqueeze(2) * _gamma + _beta;
        var q = qk.Select(2, 0);
        var k = qk.Select(2, 1);
        var kernel = q.Bmm(k.Transpose(1, 2)).Div_(_sqrtS).Relu().Square();
        if (Training && _dropout > 0) kernel = Functional.Dropout(kernel, _dropout, true);
        var outp = _o.Forward(u * kernel.Bmm(v));
        if (_dropPath is not null) outp = _dropPath.Forward(outp);
        var result = _resScale is null ? outp : _resScale.Forward(x) + outp;
        return result.MoveToOuterDisposeScope();
    }
}
