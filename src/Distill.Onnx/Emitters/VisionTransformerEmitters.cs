using Distill.Onnx.Graph;
using Distill.Pose.Models.Backbones;
using Distill.Torch;

namespace Distill.Onnx.Emitters;

/// <summary>
/// Patch embedding, tokens plus position embedding, the encoder layers, the final LayerNorm and the tokens folded
/// back to a (N, C, h, w) map. The graph is written for the export input size: when its patch grid differs from the
/// one the position embedding was trained for, the bicubic resize is computed once here and stored as a constant.
/// </summary>
public sealed class VisionTransformerEmitter : ModuleEmitter<VisionTransformer>
{
    public override string? CheckSupported(VisionTransformer module, OnnxExportOptions options) =>
        module.Projection.Stride != (module.PatchSize, module.PatchSize) || module.Projection.Dilation != (1, 1)
            ? "the patch embedding must be a stride-patch convolution without dilation"
            : null;

    public override IReadOnlyList<string> Emit(OnnxEmitContext context, VisionTransformer module, string path, IReadOnlyList<string> inputs)
    {
        var g = context.Graph;
        var p = context.EmitUnary(module.Projection, OnnxEmitContext.Child(path, "patch_embed.projection"), inputs.Single());
        // (N, C, h, w) -> (N, h * w, C)
        var tokens = context.Transpose(context.Reshape(p, [0, 0, -1], path), [0, 2, 1], path);
        var grid = (Grid(context.InputSize.Height, module), Grid(context.InputSize.Width, module));
        string pos;
        if (grid == module.PosGrid)
        {
            pos = g.AddInitializer(OnnxEmitContext.Child(path, "pos_embed"), module.PosEmbed);
        }
        else
        {
            using var _ = Autograd.NoGrad();
            using var resized = VisionTransformer.ResizePosEmbed(module.PosEmbed, module.PosGrid, grid);
            pos = g.AddInitializer(OnnxEmitContext.Child(path, "pos_embed_resized"), resized);
        }
        var h = context.Add(tokens, pos, path);
        for (int i = 0; i < module.Layers.Count; i++)
            h = context.EmitUnary(module.Layers[i], OnnxEmitContext.Child(path, $"layers.{i}"), h);
        h = context.EmitUnary(module.Ln1, OnnxEmitContext.Child(path, "ln1"), h);
        // (N, h * w, C) -> (N, C, h * w) -> the patch map's own shape, so the batch size stays dynamic.
        var map = context.Reshape(context.Transpose(h, [0, 2, 1], path), [0, 0, grid.Item1, grid.Item2], path);
        return [map];
    }

    private static long Grid(long size, VisionTransformer m) => (size + 2 * m.PatchPadding - m.PatchSize) / m.PatchSize + 1;
}

/// <summary>Pre-norm layer: a = x + attn(ln1(x)); a + ffn(ln2(a)). Stochastic depth is the identity at inference.</summary>
public sealed class TransformerEncoderLayerEmitter : UnaryEmitter<TransformerEncoderLayer>
{
    public override string Emit(OnnxEmitContext context, TransformerEncoderLayer module, string path, string input)
    {
        var n1 = context.EmitUnary(module.Ln1, OnnxEmitContext.Child(path, "ln1"), input);
        var a = context.Add(input, context.EmitUnary(module.Attn, OnnxEmitContext.Child(path, "attn"), n1), path);
        var n2 = context.EmitUnary(module.Ln2, OnnxEmitContext.Child(path, "ln2"), a);
        return context.Add(a, context.EmitUnary(module.Ffn, OnnxEmitContext.Child(path, "ffn"), n2), path);
    }
}

/// <summary>
/// Fused-qkv self-attention: (N, T, 3C) -> (3, N, heads, T, d); softmax(q k^T * d^-0.5) v; heads merged back to
/// (N, T, C) and projected.
/// </summary>
public sealed class MultiheadAttentionEmitter : UnaryEmitter<MultiheadAttention>
{
    public override string Emit(OnnxEmitContext context, MultiheadAttention module, string path, string input)
    {
        var g = context.Graph;
        long heads = module.NumHeads, dims = module.EmbedDims;
        var qkv = context.Linear(module.Qkv, OnnxEmitContext.Child(path, "qkv"), input);
        var split = context.Transpose(context.Reshape(qkv, [0, 0, 3, heads, dims / heads], path), [2, 0, 3, 1, 4], path);
        var q = g.Node("Gather", path, [split, g.Int64Scalar(0)], OnnxAttribute.Int("axis", 0));
        var k = g.Node("Gather", path, [split, g.Int64Scalar(1)], OnnxAttribute.Int("axis", 0));
        var v = g.Node("Gather", path, [split, g.Int64Scalar(2)], OnnxAttribute.Int("axis", 0));
        var logits = context.Mul(context.MatMul(q, context.Transpose(k, [0, 1, 3, 2], path), path), g.Constant((float)module.Scale), path);
        var attn = g.Node("Softmax", path, [logits], OnnxAttribute.Int("axis", -1));
        var o = context.Reshape(context.Transpose(context.MatMul(attn, v, path), [0, 2, 1, 3], path), [0, 0, dims], path);
        return context.Linear(module.Proj, OnnxEmitContext.Child(path, "proj"), o);
    }
}

/// <summary>fc2(gelu(fc1(x))) with exact GELU, as the layer computes it.</summary>
public sealed class FFNEmitter : UnaryEmitter<FFN>
{
    public override string Emit(OnnxEmitContext context, FFN module, string path, string input)
    {
        var h = context.Linear(module.Fc1, OnnxEmitContext.Child(path, "layers.0.0"), input);
        h = context.Gelu(h, OnnxEmitContext.Child(path, "layers.0.1"));
        return context.Linear(module.Fc2, OnnxEmitContext.Child(path, "layers.1"), h);
    }
}
