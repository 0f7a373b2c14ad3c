using Distill.Torch;
using Distill.Torch.Nn;

namespace Distill.Pose.Models.Backbones;

/// <summary>
/// Multi-head self-attention inside one window with a learned relative position bias (names:
/// relative_position_bias_table, relative_position_index, qkv, proj). Input and output are (windows, tokens, C) with
/// the tokens of each window in row-major order.
/// </summary>
public sealed class WindowMSA : Module<Tensor, Tensor>
{
    private readonly Linear _qkv, _proj;
    private readonly Tensor _table, _index;

    public Linear Qkv => _qkv;
    public Linear Proj => _proj;

    /// <summary>((2 Wh - 1) (2 Ww - 1), heads): one learned bias per relative offset and head.</summary>
    public Tensor RelativePositionBiasTable => _table;

    /// <summary>(Wh Ww, Wh Ww) int64: the table row of each (query, key) pair. Checkpoints store it.</summary>
    public Tensor RelativePositionIndex => _index;

    public long NumHeads { get; }
    public long EmbedDims { get; }
    public (long H, long W) WindowSize { get; }

    /// <summary>The logit scale, head_dims^-0.5, applied to q before the product.</summary>
    public double Scale { get; }

    public WindowMSA(long dims, long heads, (long H, long W) window)
    {
        if (dims % heads != 0) throw new ArgumentException($"{dims} channels are not divisible by {heads} heads");
        EmbedDims = dims;
        NumHeads = heads;
        WindowSize = window;
        Scale = Math.Pow(dims / heads, -0.5);
        _table = RegisterParameter("relative_position_bias_table", torch.Zeros([(2 * window.H - 1) * (2 * window.W - 1), heads]));
        Init.TruncNormal_(_table, 0, 0.02);
        _index = RegisterBuffer("relative_position_index", BuildIndex(window));
        _qkv = RegisterModule("qkv", new Linear(dims, dims * 3));
        _proj = RegisterModule("proj", new Linear(dims, dims));
    }

    /// <summary>index[a, b] = (y_a - y_b + Wh - 1) (2 Ww - 1) + (x_a - x_b + Ww - 1) for query a and key b.</summary>
    public static Tensor BuildIndex((long H, long W) window)
    {
        long n = window.H * window.W, span = 2 * window.W - 1;
        var index = new long[n * n];
        for (long a = 0; a < n; a++)
            for (long b = 0; b < n; b++)
                index[a * n + b] = (a / window.W - b / window.W + window.H - 1) * span + (a % window.W - b % window.W + window.W - 1);
        return torch.FromArray(index, [n, n]);
    }

    /// <summary>The (heads, N, N) bias added to every window's attention logits.</summary>
    public Tensor PositionBias()
    {
        using var scope = torch.NewDisposeScope();
        long n = WindowSize.H * WindowSize.W;
        var rows = _table.IndexSelect(0, _index.Reshape(-1));
        return rows.Reshape(n, n, NumHeads).Permute(2, 0, 1).Contiguous().MoveToOuterDisposeScope();
    }

    public override Tensor Forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        long b = x.Size(0), n = x.Size(1);
        // (B, N, 3C) -> (3, B, heads, N, head_dims)
        var qkv = _qkv.Forward(x).Reshape(b, n, 3, NumHeads, EmbedDims / NumHeads).Permute(2, 0, 3, 1, 4);
        var q = qkv.Select(0, 0) * Scale;
        var logits = q.MatMul(qkv.Select(0, 1).Transpose(-2, -1)) + PositionBias().Unsqueeze(0);
        var o = Functional.Softmax(logits, -1).MatMul(qkv.Select(0, 2)).Transpose(1, 2).Reshape(b, n, EmbedDims);
        return _proj.Forward(o).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Local-window self-attention (name: attn): the (B, H, W, C) map is zero-padded, centred, to whole windows, split
/// into windows (row-major), attended window by window in one batched call, reassembled and cropped. The padded tokens
/// are zeros that still act as keys and values, as in the reference (no padding mask).
/// </summary>
public sealed class LocalWindowSelfAttention : Module<Tensor, Tensor>
{
    public WindowMSA Attn { get; }
    public (long H, long W) WindowSize { get; }

    public LocalWindowSelfAttention(long dims, long heads, long window)
    {
        WindowSize = (window, window);
        Attn = RegisterModule("attn", new WindowMSA(dims, heads, WindowSize));
    }

    /// <summary>The (top, bottom, left, right) zero padding that brings an h x w map to whole windows.</summary>
    public static (long Top, long Bottom, long Left, long Right) Padding(long h, long w, (long H, long W) window)
    {
        long ph = (h + window.H - 1) / window.H * window.H - h, pw = (w + window.W - 1) / window.W * window.W - w;
        return (ph / 2, ph - ph / 2, pw / 2, pw - pw / 2);
    }

    public override Tensor Forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        long b = x.Size(0), h = x.Size(1), w = x.Size(2), c = x.Size(3);
        var (wh, ww) = WindowSize;
        var pad = Padding(h, w, WindowSize);
        if (pad != (0, 0, 0, 0)) x = Functional.Pad(x, [0, 0, pad.Left, pad.Right, pad.Top, pad.Bottom]);
        long hp = h + pad.Top + pad.Bottom, wp = w + pad.Left + pad.Right, nh = hp / wh, nw = wp / ww;
        var windows = x.Reshape(b, nh, wh, nw, ww, c).Permute(0, 1, 3, 2, 4, 5).Reshape(b * nh * nw, wh * ww, c);
        var o = Attn.Forward(windows).Reshape(b, nh, nw, wh, ww, c).Permute(0, 1, 3, 2, 4, 5).Reshape(b, hp, wp, c);
        if (pad != (0, 0, 0, 0)) o = o.Narrow(1, pad.Top, h).Narrow(2, pad.Left, w);
        return o.MoveToOuterDisposeScope();
    }
}

/// <summary>
/// HRFormer's feed-forward network on (B, C, H, W): 1x1 conv to the hidden width, BN, GELU, depthwise 3x3 conv, BN,
/// GELU, 1x1 conv back, BN, GELU (names fc1, norm1, dw3x3, norm2, fc2, norm3). GELU is the exact erf form.
/// </summary>
public sealed class CrossFFN : Module<Tensor, Tensor>
{
    public Conv2d Fc1 { get; }
    public BatchNorm2d Norm1 { get; }
    public Conv2d Dw3x3 { get; }
    public BatchNorm2d Norm2 { get; }
    public Conv2d Fc2 { get; }
    public BatchNorm2d Norm3 { get; }

    public CrossFFN(long dims, long hidden, double bnEps = 1e-5, double bnMomentum = 0.1)
    {
        Fc1 = RegisterModule("fc1", new Conv2d(dims, hidden, 1));
        Norm1 = RegisterModule("norm1", new BatchNorm2d(hidden, bnEps, bnMomentum));
        Dw3x3 = RegisterModule("dw3x3", new Conv2d(hidden, hidden, 3, 1, 1, 1, hidden));
        Norm2 = RegisterModule("norm2", new BatchNorm2d(hidden, bnEps, bnMomentum));
        Fc2 = RegisterModule("fc2", new Conv2d(hidden, dims, 1));
        Norm3 = RegisterModule("norm3", new BatchNorm2d(dims, bnEps, bnMomentum));
    }

    public override Tensor Forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var h = Norm1.Forward(Fc1.Forward(x)).Gelu();
        h = Norm2.Forward(Dw3x3.Forward(h)).Gelu();
        return Norm3.Forward(Fc2.Forward(h)).Gelu().MoveToOuterDisposeScope();
    }
}

/// <summary>
/// HRFormer block on (B, C, H, W): x + DropPath(LSA(LN1 x)), then x + DropPath(FFN(LN2 x)), with the tokens in
/// (B, HW, C) order for the norms and the attention (names norm1, attn, norm2, ffn).
/// </summary>
public sealed class HRFormerBlock : Module<Tensor, Tensor>
{
    private readonly DropPath _dropPath;

    public LayerNorm Norm1 { get; }
    public LocalWindowSelfAttention Attn { get; }
    public LayerNorm Norm2 { get; }
    public CrossFFN Ffn { get; }
    public double DropPathRate => _dropPath.P;

    public HRFormerBlock(long dims, long heads, long window = 7, double mlpRatio = 4, double dropPath = 0,
        double lnEps = 1e-6, double bnEps = 1e-5, double bnMomentum = 0.1)
    {
        Norm1 = RegisterModule("norm1", new LayerNorm(dims, lnEps));
        Attn = RegisterModule("attn", new LocalWindowSelfAttention(dims, heads, window));
        Norm2 = RegisterModule("norm2", new LayerNorm(dims, lnEps));
        Ffn = RegisterModule("ffn", new CrossFFN(dims, (long)(dims * mlpRatio), bnEps, bnMomentum));
        _dropPath = new DropPath(dropPath);
    }

    public override Tensor Forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        _dropPath.Train(Training);
        long b = x.Size(0), c = x.Size(1), h = x.Size(2), w = x.Size(3);
        // (B, C, H, W) -> (B, HW, C); a block's own output is already stored this way, so this is a view.
        var t = x.Flatten(2).Transpose(1, 2);
        var a = Attn.Forward(Norm1.Forward(t).Reshape(b, h, w, c)).Reshape(b, h * w, c);
        t = t + _dropPath.Forward(a);
        var f = Ffn.Forward(Norm2.Forward(t).Transpose(1, 2).Reshape(b, c, h, w));
        t = t + _dropPath.Forward(f.Flatten(2).Transpose(1, 2));
        return t.Transpose(1, 2).Reshape(b, c, h, w).MoveToOuterDisposeScope();
    }
}
