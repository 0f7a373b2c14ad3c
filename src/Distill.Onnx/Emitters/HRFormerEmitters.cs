using Distill.Onnx.Graph;
using Distill.Pose.Models.Backbones;
using Distill.Torch;
using Distill.Torch.Nn;

namespace Distill.Onnx.Emitters;

/// <summary>
/// HRFormer for the export input size: the window split of every block needs its map's height and width, so this
/// emitter walks the whole backbone with the size of each branch known and writes the blocks, the window attention and
/// the fuse layers itself (those module types have emitters only for the model check). Every reshape keeps the batch
/// axis dynamic (-1 or 0); the relative position bias is gathered once here and stored as a (1, heads, N, N) constant.
/// </summary>
public sealed class HRFormerEmitter : ModuleEmitter<HRFormer>
{
    public override IReadOnlyList<string> Emit(OnnxEmitContext context, HRFormer module, string path, IReadOnlyList<string> inputs)
    {
        var g = context.Graph;
        var (w, h) = context.InputSize;
        long sh = Half(Half(h)), sw = Half(Half(w));
        var x = ConvBn(context, module.Conv1, module.Bn1, OnnxEmitContext.Child(path, "conv1"), inputs.Single());
        x = g.Node("Relu", path, [x]);
        x = ConvBn(context, module.Conv2, module.Bn2, OnnxEmitContext.Child(path, "conv2"), x);
        x = g.Node("Relu", path, [x]);
        x = context.EmitUnary(module.Layer1, OnnxEmitContext.Child(path, "layer1"), x);

        var y = new List<string> { x };
        var sizes = new List<(long H, long W)> { (sh, sw) };
        for (int s = 0; s < 3; s++)
        {
            var t = module.Transitions[s];
            string tPath = OnnxEmitContext.Child(path, $"transition{s + 1}");
            var next = new List<string>();
            for (int i = 0; i < t.Count; i++)
            {
                if (i >= sizes.Count) sizes.Add((Half(sizes[^1].H), Half(sizes[^1].W)));
                next.Add(t[i] is { } p ? context.EmitUnary(p, OnnxEmitContext.Child(tPath, i.ToString()), i < y.Count ? y[i] : y[^1]) : y[i]);
            }
            y = next;
            var stage = module.Stages[s];
            for (int m = 0; m < stage.Count; m++)
                y = EmitModule(context, stage[m], OnnxEmitContext.Child(path, $"stage{s + 2}.{m}"), y, sizes);
        }
        return module.MultiscaleOutput ? y : [y[0]];
    }

    /// <summary>A 3x3 stride-2 padding-1 convolution's output size.</summary>
    private static long Half(long size) => (size - 1) / 2 + 1;

    private static string ConvBn(OnnxEmitContext context, Conv2d conv, BatchNorm2d bn, string path, string x) =>
        context.Options.FoldBatchNorm
            ? context.Conv(x, path, BatchNormFolding.Fold(conv, bn), conv)
            : context.BatchNorm(bn, path + "_bn", context.Conv(conv, path, x));

    private static List<string> EmitModule(OnnxEmitContext context, HRFormerModule module, string path, List<string> x,
        List<(long H, long W)> sizes)
    {
        var y = new List<string>();
        for (int i = 0; i < module.NumBranches; i++)
        {
            var v = x[i];
            var branch = module.Branches[i];
            for (int k = 0; k < branch.Count; k++)
                v = EmitBlock(context, (HRFormerBlock)branch[k], OnnxEmitContext.Child(path, $"branches.{i}.{k}"), v, sizes[i]);
            y.Add(v);
        }
        if (module.FuseLayers is not { } fuse) return y;
        var outs = new List<string>();
        for (int i = 0; i < fuse.Count; i++)
            outs.Add(EmitFuse(context, fuse[i], OnnxEmitContext.Child(path, $"fuse_layers.{i}"), y, sizes));
        return outs;
    }

    private static string EmitFuse(OnnxEmitContext context, FuseLayer fuse, string path, List<string> x, List<(long H, long W)> sizes)
    {
        var g = context.Graph;
        int i = fuse.Index;
        string? sum = null;
        for (int j = 0; j < x.Count; j++)
        {
            string term = x[j];
            if (j != i)
            {
                term = context.EmitUnary(fuse.Paths[j]!, OnnxEmitContext.Child(path, j.ToString()), x[j]);
                if (j > i)
                {
                    // Bilinear, align_corners false, to branch i's size; the batch and channel sizes come from the tensor.
                    var leading = g.Node("Slice", path, [g.Node("Shape", path, [term]), g.Int64s(0), g.Int64s(2)]);
                    var size = g.Node("Concat", path, [leading, g.Int64s(sizes[i].H, sizes[i].W)], OnnxAttribute.Int("axis", 0));
                    term = g.Node("Resize", path, [term, "", "", size],
                        OnnxAttribute.String("mode", "linear"),
                        OnnxAttribute.String("coordinate_transformation_mode", "pytorch_half_pixel"));
                }
            }
            sum = sum is null ? term : context.Add(sum, term, path);
        }
        return g.Node("Relu", path, [sum!]);
    }

    /// <summary>x + LSA(LN1 x), then + FFN(LN2 x), in (N, HW, C) token order; input and output (N, C, H, W).</summary>
    internal static string EmitBlock(OnnxEmitContext context, HRFormerBlock block, string path, string x, (long H, long W) size)
    {
        long c = block.Norm1.NormalizedShape[0], n = size.H * size.W;
        var t = context.Transpose(context.Reshape(x, [0, c, n], path), [0, 2, 1], path);
        var a = context.LayerNorm(block.Norm1, OnnxEmitContext.Child(path, "norm1"), t);
        a = EmitWindowAttention(context, block.Attn, OnnxEmitContext.Child(path, "attn"), context.Reshape(a, [-1, size.H, size.W, c], path), size, c);
        t = context.Add(t, context.Reshape(a, [-1, n, c], path), path);
        var f = context.LayerNorm(block.Norm2, OnnxEmitContext.Child(path, "norm2"), t);
        f = context.Reshape(context.Transpose(f, [0, 2, 1], path), [-1, c, size.H, size.W], path);
        f = context.EmitUnary(block.Ffn, OnnxEmitContext.Child(path, "ffn"), f);
        t = context.Add(t, context.Transpose(context.Reshape(f, [0, c, n], path), [0, 2, 1], path), path);
        return context.Reshape(context.Transpose(t, [0, 2, 1], path), [-1, c, size.H, size.W], path);
    }

    /// <summary>Centred zero padding to whole windows, the window split, attention per window, the reverse and the crop.</summary>
    private static string EmitWindowAttention(OnnxEmitContext context, LocalWindowSelfAttention lsa, string path, string x,
        (long H, long W) size, long c)
    {
        var g = context.Graph;
        var (wh, ww) = lsa.WindowSize;
        var pad = LocalWindowSelfAttention.Padding(size.H, size.W, lsa.WindowSize);
        bool padded = pad != (0, 0, 0, 0);
        if (padded)
            x = g.Node("Pad", path, [x, g.Int64s(0, pad.Top, pad.Left, 0, 0, pad.Bottom, pad.Right, 0)], OnnxAttribute.String("mode", "constant"));
        long hp = size.H + pad.Top + pad.Bottom, wp = size.W + pad.Left + pad.Right, nh = hp / wh, nw = wp / ww;
        var windows = context.Reshape(context.Transpose(context.Reshape(x, [-1, nh, wh, nw, ww, c], path), [0, 1, 3, 2, 4, 5], path),
            [-1, wh * ww, c], path);
        var o = EmitWindowMSA(context, lsa.Attn, OnnxEmitContext.Child(path, "attn"), windows);
        o = context.Reshape(context.Transpose(context.Reshape(o, [-1, nh, nw, wh, ww, c], path), [0, 1, 3, 2, 4, 5], path),
            [-1, hp, wp, c], path);
        if (padded)
            o = g.Node("Slice", path, [o, g.Int64s(pad.Top, pad.Left), g.Int64s(pad.Top + size.H, pad.Left + size.W), g.Int64s(1, 2)]);
        return o;
    }

    /// <summary>softmax(q d^-0.5 k^T + B) v per head, heads merged and projected; (windows, N, C) in and out.</summary>
    private static string EmitWindowMSA(OnnxEmitContext context, WindowMSA msa, string path, string x)
    {
        var g = context.Graph;
        long heads = msa.NumHeads, dims = msa.EmbedDims, n = msa.WindowSize.H * msa.WindowSize.W;
        var qkv = context.Linear(msa.Qkv, OnnxEmitContext.Child(path, "qkv"), x);
        var split = context.Transpose(context.Reshape(qkv, [-1, n, 3, heads, dims / heads], path), [2, 0, 3, 1, 4], path);
        var q = g.Node("Gather", path, [split, g.Int64Scalar(0)], OnnxAttribute.Int("axis", 0));
        var k = g.Node("Gather", path, [split, g.Int64Scalar(1)], OnnxAttribute.Int("axis", 0));
        var v = g.Node("Gather", path, [split, g.Int64Scalar(2)], OnnxAttribute.Int("axis", 0));
        q = context.Mul(q, g.Constant((float)msa.Scale), path);
        string bias;
        using (Autograd.NoGrad())
        using (var b = msa.PositionBias())
        using (var b4 = b.Unsqueeze(0))
            bias = g.AddInitializer(OnnxEmitContext.Child(path, "relative_position_bias"), b4);
        var logits = context.Add(context.MatMul(q, context.Transpose(k, [0, 1, 3, 2], path), path), bias, path);
        var attn = g.Node("Softmax", path, [logits], OnnxAttribute.Int("axis", -1));
        var o = context.Reshape(context.Transpose(context.MatMul(attn, v, path), [0, 2, 1, 3], path), [-1, n, dims], path);
        return context.Linear(msa.Proj, OnnxEmitContext.Child(path, "proj"), o);
    }
}

/// <summary>fc1, norm1, GELU, dw3x3, norm2, GELU, fc2, norm3, GELU on (N, C, H, W), each BN folded into its conv or kept.</summary>
public sealed class CrossFFNEmitter : UnaryEmitter<CrossFFN>
{
    public override string Emit(OnnxEmitContext context, CrossFFN module, string path, string input)
    {
        var h = context.Gelu(ConvBn(context, module.Fc1, module.Norm1, path, "fc1", "norm1", input), path);
        h = context.Gelu(ConvBn(context, module.Dw3x3, module.Norm2, path, "dw3x3", "norm2", h), path);
        return context.Gelu(ConvBn(context, module.Fc2, module.Norm3, path, "fc2", "norm3", h), path);
    }

    private static string ConvBn(OnnxEmitContext context, Conv2d conv, BatchNorm2d bn, string path, string convName, string bnName, string x) =>
        context.Options.FoldBatchNorm
            ? context.Conv(x, OnnxEmitContext.Child(path, convName), BatchNormFolding.Fold(conv, bn), conv)
            : context.BatchNorm(bn, OnnxEmitContext.Child(path, bnName), context.Conv(conv, OnnxEmitContext.Child(path, convName), x));
}

/// <summary>ReLU(bn3(conv3(ReLU(bn2(conv2(ReLU(bn1(conv1 x)))))) + shortcut(x)).</summary>
public sealed class BottleneckEmitter : UnaryEmitter<Bottleneck>
{
    public override string Emit(OnnxEmitContext context, Bottleneck module, string path, string input)
    {
        var g = context.Graph;
        var h = g.Node("Relu", path, [ConvBn(context, module.Conv1, module.Bn1, path, "conv1", "bn1", input)]);
        h = g.Node("Relu", path, [ConvBn(context, module.Conv2, module.Bn2, path, "conv2", "bn2", h)]);
        h = ConvBn(context, module.Conv3, module.Bn3, path, "conv3", "bn3", h);
        var identity = module.Downsample is null ? input : context.EmitUnary(module.Downsample, OnnxEmitContext.Child(path, "downsample"), input);
        return g.Node("Relu", path, [context.Add(h, identity, path)]);
    }

    private static string ConvBn(OnnxEmitContext context, Conv2d conv, BatchNorm2d bn, string path, string convName, string bnName, string x) =>
        context.Options.FoldBatchNorm
            ? context.Conv(x, OnnxEmitContext.Child(path, convName), BatchNormFolding.Fold(conv, bn), conv)
            : context.BatchNorm(bn, OnnxEmitContext.Child(path, bnName), context.Conv(conv, OnnxEmitContext.Child(path, convName), x));
}

/// <summary>
/// For the parts of HRFormer that need their map size (blocks, window attention, modules, fuse layers, transition
/// lists): the model check finds them supported, and <see cref="HRFormerEmitter"/> writes them.
/// </summary>
public sealed class WrittenByHRFormerEmitter(Type type) : IModuleEmitter
{
    public Type ModuleType { get; } = type;

    public string? CheckSupported(Module module, OnnxExportOptions options) => null;

    public IReadOnlyList<string> Emit(OnnxEmitContext context, Module module, string path, IReadOnlyList<string> inputs) =>
        throw new OnnxExportException($"module '{path}' ({module.TypeName}) is written by its HRFormer backbone, which knows the map sizes; it cannot be exported on its own");
}
