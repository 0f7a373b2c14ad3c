using Distill.Pose.Models.Layers;
using Distill.Torch.Nn;

namespace Distill.Onnx.Emitters;

public sealed class Conv2dEmitter : UnaryEmitter<Conv2d>
{
    public override string Emit(OnnxEmitContext context, Conv2d module, string path, string input) => context.Conv(module, path, input);
}

public sealed class ConvTranspose2dEmitter : UnaryEmitter<ConvTranspose2d>
{
    public override string Emit(OnnxEmitContext context, ConvTranspose2d module, string path, string input) =>
        context.ConvTranspose(module, path, input);
}

public sealed class BatchNorm2dEmitter : UnaryEmitter<BatchNorm2d>
{
    public override string Emit(OnnxEmitContext context, BatchNorm2d module, string path, string input) =>
        context.BatchNorm(module, path, input);
}

/// <summary>
/// Children in order. With BatchNorm folding on, a Conv2d or ConvTranspose2d directly followed by a BatchNorm2d
/// becomes one convolution with folded weights.
/// </summary>
public sealed class SequentialEmitter : UnaryEmitter<Sequential>
{
    public override string Emit(OnnxEmitContext context, Sequential module, string path, string input)
    {
        var children = module.NamedChildren().ToList();
        var x = input;
        for (int i = 0; i < children.Count; i++)
        {
            var (name, child) = children[i];
            string childPath = OnnxEmitContext.Child(path, name);
            var next = i + 1 < children.Count ? children[i + 1].Value as BatchNorm2d : null;
            if (context.Options.FoldBatchNorm && next is not null && child is Conv2d conv)
            {
                x = context.Conv(x, childPath, BatchNormFolding.Fold(conv, next), conv);
                i++;
            }
            else if (context.Options.FoldBatchNorm && next is not null && child is ConvTranspose2d deconv)
            {
                x = context.ConvTranspose(x, childPath, BatchNormFolding.Fold(deconv, next), deconv);
                i++;
            }
            else
            {
                x = context.EmitUnary(child, childPath, x);
            }
        }
        return x;
    }
}

/// <summary>A module list applied as a chain, which is how the backbones that hold one use it.</summary>
public sealed class ModuleListEmitter : IModuleEmitter
{
    public Type ModuleType => typeof(ModuleList<>);

    public string? CheckSupported(Module module, OnnxExportOptions options) => null;

    public IReadOnlyList<string> Emit(OnnxEmitContext context, Module module, string path, IReadOnlyList<string> inputs)
    {
        if (inputs.Count != 1) throw new OnnxExportException($"module '{path}' ({module.TypeName}) takes one input, got {inputs.Count}");
        var x = inputs[0];
        foreach (var (name, child) in module.NamedChildren()) x = context.EmitUnary(child, OnnxEmitContext.Child(path, name), x);
        return [x];
    }
}

/// <summary>Conv, then BatchNorm (folded or as a node), then the activation.</summary>
public sealed class ConvModuleEmitter : UnaryEmitter<ConvModule>
{
    public override string Emit(OnnxEmitContext context, ConvModule module, string path, string input)
    {
        string convPath = OnnxEmitContext.Child(path, "conv");
        string y;
        if (module.Bn is null)
        {
            y = context.Conv(module.Conv, convPath, input);
        }
        else if (context.Options.FoldBatchNorm)
        {
            y = context.Conv(input, convPath, BatchNormFolding.Fold(module.Conv, module.Bn), module.Conv);
        }
        else
        {
            y = context.BatchNorm(module.Bn, OnnxEmitContext.Child(path, "bn"), context.Conv(module.Conv, convPath, input));
        }
        return context.Activation(module.Act, y, path);
    }
}

/// <summary>x * hardsigmoid(fc(mean over H, W)).</summary>
public sealed class ChannelAttentionEmitter : UnaryEmitter<ChannelAttention>
{
    public override string Emit(OnnxEmitContext context, ChannelAttention module, string path, string input)
    {
        var pooled = context.ReduceMean(input, [2, 3], true, path);
        var fc = context.Conv(module.Fc, OnnxEmitContext.Child(path, "fc"), pooled);
        return context.Mul(input, context.HardSigmoid(fc, path), path);
    }
}
