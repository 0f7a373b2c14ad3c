using Distill.Onnx.Graph;
using Distill.Pose.Models.Heads;
using Distill.Torch;

namespace Distill.Onnx.Emitters;

/// <summary>
/// RTMPose's SimCC head on the last feature map: k x k conv to K maps, flattened to K tokens, ScaleNorm + Linear,
/// the GAU block, then the x and y classifiers. Outputs (simcc_x, simcc_y).
/// </summary>
public sealed class RTMCCHeadEmitter : ModuleEmitter<RTMCCHead>
{
    public override IReadOnlyList<string> Emit(OnnxEmitContext context, RTMCCHead module, string path, IReadOnlyList<string> inputs)
    {
        var f = context.Conv(module.FinalLayer, OnnxEmitContext.Child(path, "final_layer"), inputs[^1]);
        var tokens = context.Reshape(f, [0, 0, -1], path);
        var t = context.EmitUnary(module.Mlp, OnnxEmitContext.Child(path, "mlp"), tokens);
        t = context.EmitUnary(module.Gau, OnnxEmitContext.Child(path, "gau"), t);
        return
        [
            context.Linear(module.ClsX, OnnxEmitContext.Child(path, "cls_x"), t),
            context.Linear(module.ClsY, OnnxEmitContext.Child(path, "cls_y"), t),
        ];
    }
}

/// <summary>
/// The gated attention unit: y = ScaleNorm(x); u, v, base = split(silu(y W_uv)); q, k = base * gamma_i + beta_i;
/// out = o(u * (relu(q k^T / sqrt s)^2 v)), plus x * res_scale when the block has one. Dropout is inference-off.
/// </summary>
public sealed class RTMCCBlockEmitter : UnaryEmitter<RTMCCBlock>
{
    public override string Emit(OnnxEmitContext context, RTMCCBlock module, string path, string input)
    {
        var g = context.Graph;
        var y = context.EmitUnary(module.Ln, OnnxEmitContext.Child(path, "ln"), input);
        var uv = context.Silu(context.EmitUnary(module.Uv, OnnxEmitContext.Child(path, "uv"), y), path);
        var parts = context.Split(uv, 2, [module.ExpandedDims, module.ExpandedDims, module.S], path);
        string u = parts[0], v = parts[1], b = parts[2];
        // Row 0 of gamma and beta makes q, row 1 makes k; per element the same multiply-add as the broadcast form.
        string q, k;
        using (Autograd.NoGrad())
        using (var g0 = module.Gamma.Select(0, 0)) using (var g1 = module.Gamma.Select(0, 1))
        using (var b0 = module.Beta.Select(0, 0)) using (var b1 = module.Beta.Select(0, 1))
        {
            q = context.Add(context.Mul(b, g.AddInitializer(OnnxEmitContext.Child(path, "gamma.0"), g0), path), g.AddInitializer(OnnxEmitContext.Child(path, "beta.0"), b0), path);
            k = context.Add(context.Mul(b, g.AddInitializer(OnnxEmitContext.Child(path, "gamma.1"), g1), path), g.AddInitializer(OnnxEmitContext.Child(path, "beta.1"), b1), path);
        }
        var logits = context.Div(context.MatMul(q, context.Transpose(k, [0, 2, 1], path), path), g.Constant((float)Math.Sqrt(module.S)), path);
        var relu = g.Node("Relu", path, [logits]);
        var kernel = context.Mul(relu, relu, path);
        var gated = context.Mul(u, context.MatMul(kernel, v, path), path);
        var outp = context.EmitUnary(module.O, OnnxEmitContext.Child(path, "o"), gated);
        if (module.ResScale is null) return outp;
        return context.Add(context.EmitUnary(module.ResScale, OnnxEmitContext.Child(path, "res_scale"), input), outp, path);
    }
}

/// <summary>
/// Heatmap head on the last feature map: optional x4 bilinear upsample + ReLU (the "simple" decoder), the deconv
/// stack, the conv stack and the final conv. Output (heatmaps).
/// </summary>
public sealed class HeatmapHeadEmitter : ModuleEmitter<HeatmapHead>
{
    public override IReadOnlyList<string> Emit(OnnxEmitContext context, HeatmapHead module, string path, IReadOnlyList<string> inputs)
    {
        var g = context.Graph;
        var x = inputs[^1];
        if (module.SimpleUpsample)
        {
            // PyTorch's bilinear interpolation without corner alignment maps output pixel i to (i + 0.5) / 4 - 0.5.
            var up = g.Node("Resize", path, [x, "", g.Constant([1f, 1f, 4f, 4f], [4])],
                OnnxAttribute.String("mode", "linear"),
                OnnxAttribute.String("coordinate_transformation_mode", "pytorch_half_pixel"));
            x = g.Node("Relu", path, [up]);
        }
        if (module.DeconvLayers.Count > 0) x = context.EmitUnary(module.DeconvLayers, OnnxEmitContext.Child(path, "deconv_layers"), x);
        if (module.ConvLayers.Count > 0) x = context.EmitUnary(module.ConvLayers, OnnxEmitContext.Child(path, "conv_layers"), x);
        return [context.Conv(module.FinalLayer, OnnxEmitContext.Child(path, "final_layer"), x)];
    }
}

/// <summary>Global average pooling of the last (N, C, H, W) map, the linear layer, reshaped to (N, P * K, 2).</summary>
public sealed class RegressionHeadEmitter : ModuleEmitter<RegressionHead>
{
    public override IReadOnlyList<string> Emit(OnnxEmitContext context, RegressionHead module, string path, IReadOnlyList<string> inputs)
    {
        var pooled = context.ReduceMean(inputs[^1], [2, 3], false, path);
        var y = context.Linear(module.Fc, OnnxEmitContext.Child(path, "fc"), pooled);
        return [context.Reshape(y, [0, module.NumPersons * module.NumKeypoints, 2], path)];
    }
}
