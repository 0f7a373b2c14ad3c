using Distill.Torch;
using Distill.Torch.Nn;

namespace Distill.Pose.Models.Backbones;

/// <summary>Multi-head self-attention with a fused qkv projection (names: qkv, proj).</summary>
public sealed class MultiheadAttention : Module<Tensor, Tensor>
{
    private readonly Linear _qkv, _proj;
    private readonly long _heads, _dims;
    private readonly double _scale;

    public Linear Qkv => _qkv;
    public Linear Proj => _proj;
    public long NumHeads => _heads;
    public long EmbedDims => _dims;

    /// <summary>The attention logit scale, head_dims^-0.5.</summary>
    public double Scale => _scale;

    public MultiheadAttention(long dims, long heads, bool qkvBias = true)
    {
        if (dims % heads != 0) throw new ArgumentException($"embed dims {dims} not divisible by {heads} heads");
        _dims = dims;
        _heads = heads;
        _scale = Math.Pow(dims / heads, -0.5);
        _qkv = RegisterModule("qkv", new Linear(dims, dims * 3, qkvBias));
        _proj = RegisterModule("proj", new Linear(dims, dims));
    }

    public override Tensor Forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        long b = x.Size(0), n = x.Size(1);
        // (B, N, 3C) -> (3, B, heads, N, head_dims)
        var qkv = _qkv.Forward(x).Reshape(b, n, 3, _heads, _dims / _heads).Permute(2, 0, 3, 1, 4);
        var q = qkv.Select(0, 0);
        var k = qkv.Select(0, 1);
        var v = qkv.Select(0, 2);
        var attn = Functional.Softmax(q.MatMul(k.Transpose(-2, -1)).Mul_(_scale), -1);
        var o = attn.MatMul(v).Transpose(1, 2).Reshape(b, n, _dims);
        return _proj.Forward(o).MoveToOuterDisposeScope();
    }
}

/// <summary>Two-layer MLP with exact GELU (names: layers.0.0, layers.1).</summary>
public sealed class FFN : Module<Tensor, Tensor>
{
    private readonly Linear _fc1, _fc2;

    public Linear Fc1 => _fc1;
    public Linear Fc2 => _fc2;

    public FFN(long dims, long hidden)
    {
        var first = new Sequential(new Linear(dims, hidden), new GELU());
        var layers = new Sequential(first, new Linear(hidden, dims));
        RegisterModule("layers", layers);
        _fc1 = (Linear)first[0];
        _fc2 = (Linear)layers[1];
    }

    public override Tensor Forward(Tensor x)
    {
        using var h = _fc1.Forward(x);
        using var g = h.Gelu();
        return _fc2.Forward(g);
    }
}

/// <summary>Pre-norm transformer encoder layer: x + attn(ln1(x)), then x + ffn(ln2(x)), with stochastic depth.</summary>
public sealed class TransformerEncoderLayer : Module<Tensor, Tensor>
{
    private readonly LayerNorm _ln1, _ln2;
    private readonly MultiheadAttention _attn;
    private readonly FFN _ffn;
    private readonly DropPath _dropPath;

    public LayerNorm Ln1 => _ln1;
    public MultiheadAttention Attn => _attn;
    public LayerNorm Ln2 => _ln2;
    public FFN Ffn => _ffn;

    public TransformerEncoderLayer(long dims, long heads, long ffnDims, bool qkvBias, double dropPath, double lnEps)
    {
        _ln1 = RegisterModule("ln1", new LayerNorm(dims, lnEps));
        _attn = RegisterModule("attn", new MultiheadAttention(dims, heads, qkvBias));
        _ln2 = RegisterModule("ln2", new LayerNorm(dims, lnEps));
        _ffn = RegisterModule("ffn", new FFN(dims, ffnDims));
        _dropPath = new DropPath(dropPath);
    }

    public override Tensor Forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        _dropPath.Train(Training);
        var a = x + _dropPath.Forward(_attn.Forward(_ln1.Forward(x)));
        var f = a + _dropPath.Forward(_ffn.Forward(_ln2.Forward(a)));
        return f.MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Vision transformer with mmpretrain's layout as mmpose's ViTPose uses it: padded 16x16 patch embedding
/// (patch_embed.projection), learned position embedding without a cls token (resized bicubically when the patch
/// grid differs), pre-norm layers (layers.N), final LayerNorm ln1, feature-map output (B, C, H/16, W/16).
/// </summary>
public sealed class VisionTransformer : Backbone
{
    private readonly Conv2d _proj;
    private readonly Tensor _posEmbed;
    private readonly ModuleList<TransformerEncoderLayer> _layers;
    private readonly LayerNorm _ln1;
    private readonly long _dims;
    private readonly long _patch, _pad;

    /// <summary>The patch embedding convolution (patch_embed.projection).</summary>
    public Conv2d Projection => _proj;

    /// <summary>The learned (1, PosGrid.H * PosGrid.W, EmbedDims) position embedding.</summary>
    public Tensor PosEmbed => _posEmbed;

    public IReadOnlyList<TransformerEncoderLayer> Layers => _layers;

    /// <summary>The final LayerNorm.</summary>
    public LayerNorm Ln1 => _ln1;

    public long EmbedDims => _dims;
    public long PatchSize => _patch;
    public long PatchPadding => _pad;

    /// <summary>Patch grid the position embedding was built for (h, w).</summary>
    public (long H, long W) PosGrid { get; }

    public override long[] OutChannels => [_dims];
    public override int[] OutStrides => [(int)_patch];

    public VisionTransformer(long embedDims, int numLayers, long numHeads, long ffnDims, (int W, int H) imgSize,
        long patchSize = 16, long patchPadding = 2, bool qkvBias = true, double dropPathRate = 0, double lnEps = 1e-6)
    {
        _dims = embedDims;
        _patch = patchSize;
        _pad = patchPadding;
        PosGrid = (GridSize(imgSize.H), GridSize(imgSize.W));
        _posEmbed = RegisterParameter("pos_embed", torch.Zeros([1, PosGrid.H * PosGrid.W, embedDims]));
        Init.TruncNormal_(_posEmbed, 0, 0.02);
        var patchEmbed = new PatchEmbed(embedDims, patchSize, patchPadding);
        RegisterModule("patch_embed", patchEmbed);
        _proj = patchEmbed.Projection;
        _layers = new ModuleList<TransformerEncoderLayer>();
        for (int i = 0; i < numLayers; i++)
        {
            // Stochastic depth grows linearly with depth, as in the reference implementation.
            double dp = numLayers > 1 ? dropPathRate * i / (numLayers - 1) : 0;
            _layers.Append(new TransformerEncoderLayer(embedDims, numHeads, ffnDims, qkvBias, dp, lnEps));
        }
        RegisterModule("layers", _layers);
        _ln1 = RegisterModule("ln1", new LayerNorm(embedDims, lnEps));
    }

    private long GridSize(long size) => (size + 2 * _pad - _patch) / _patch + 1;

    public override Tensor[] Forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var p = _proj.Forward(x);
        long b = p.Size(0), gh = p.Size(2), gw = p.Size(3);
        var tokens = p.Flatten(2).Transpose(1, 2);
        var pos = (gh, gw) == PosGrid ? _posEmbed : ResizePosEmbed(_posEmbed, PosGrid, (gh, gw));
        var h = tokens + pos;
        foreach (var layer in _layers)
        {
            var next = layer.Forward(h);
            h = next;
        }
        var y = _ln1.Forward(h).Transpose(1, 2).Reshape(b, _dims, gh, gw).Contiguous();
        return [y.MoveToOuterDisposeScope()];
    }

    /// <summary>Resizes a (1, h*w, C) position embedding to another grid with bicubic interpolation.</summary>
    public static Tensor ResizePosEmbed(Tensor pos, (long H, long W) from, (long H, long W) to)
    {
        using var scope = torch.NewDisposeScope();
        long c = pos.Size(2);
        var grid = pos.Reshape(1, from.H, from.W, c).Permute(0, 3, 1, 2);
        var resized = Functional.Interpolate(grid, (to.H, to.W), InterpolationMode.Bicubic, alignCorners: false);
        return resized.Flatten(2).Transpose(1, 2).MoveToOuterDisposeScope();
    }

    /// <summary>Outputs of the patch embedding and of every layer, for parity checks.</summary>
    public List<Tensor> LayerOutputs(Tensor x)
    {
        var outs = new List<Tensor>();
        using var p = _proj.Forward(x);
        using var t = p.Flatten(2).Transpose(1, 2);
        var h = t + _posEmbed;
        outs.Add(h);
        foreach (var layer in _layers)
        {
            h = layer.Forward(h);
            outs.Add(h);
        }
        return outs;
    }
}

/// <summary>Patch embedding: a stride-patch conv (name: projection).</summary>
public sealed class PatchEmbed : Module<Tensor, Tensor>
{
    public Conv2d Projection { get; }

    public PatchEmbed(long dims, long patch, long padding) =>
        Projection = RegisterModule("projection", new Conv2d(3, dims, patch, patch, padding));

    public override Tensor Forward(Tensor x) => Projection.Forward(x);
}
