using Distill.Pose.Models.Backbones;

namespace Distill.Onnx.Emitters;

/// <summary>Stem, then the stages; outputs the feature maps of the selected indices (0 is the stem).</summary>
public sealed class CSPNeXtEmitter : ModuleEmitter<CSPNeXt>
{
    public override IReadOnlyList<string> Emit(OnnxEmitContext context, CSPNeXt module, string path, IReadOnlyList<string> inputs)
    {
        var x = context.EmitUnary(module.Stem, OnnxEmitContext.Child(path, "stem"), inputs.Single());
        var outputs = new List<string>();
        if (module.OutIndices.Contains(0)) outputs.Add(x);
        for (int i = 0; i < module.Stages.Count; i++)
        {
            x = context.EmitUnary(module.Stages[i], OnnxEmitContext.Child(path, $"stage{i + 1}"), x);
            if (module.OutIndices.Contains(i + 1)) outputs.Add(x);
        }
        return outputs;
    }
}

/// <summary>final(attention(concat(blocks(main(x)), short(x)))).</summary>
public sealed class CSPLayerEmitter : UnaryEmitter<CSPLayer>
{
    public override string Emit(OnnxEmitContext context, CSPLayer module, string path, string input)
    {
        var shortcut = context.EmitUnary(module.ShortConv, OnnxEmitContext.Child(path, "short_conv"), input);
        var main = context.EmitUnary(module.MainConv, OnnxEmitContext.Child(path, "main_conv"), input);
        main = context.EmitUnary(module.Blocks, OnnxEmitContext.Child(path, "blocks"), main);
        var cat = context.Graph.Node("Concat", path, [main, shortcut], Graph.OnnxAttribute.Int("axis", 1));
        if (module.Attention is not null) cat = context.EmitUnary(module.Attention, OnnxEmitContext.Child(path, "attention"), cat);
        return context.EmitUnary(module.FinalConv, OnnxEmitContext.Child(path, "final_conv"), cat);
    }
}

/// <summary>conv2(conv1(x)), plus x when the block keeps an identity path.</summary>
public sealed class CSPNeXtBlockEmitter : UnaryEmitter<CSPNeXtBlock>
{
    public override string Emit(OnnxEmitContext context, CSPNeXtBlock module, string path, string input)
    {
        var a = context.EmitUnary(module.Conv1, OnnxEmitContext.Child(path, "conv1"), input);
        var b = context.EmitUnary(module.Conv2, OnnxEmitContext.Child(path, "conv2"), a);
        return module.AddIdentity ? context.Add(b, input, path) : b;
    }
}

/// <summary>conv2(concat(a, maxpool_k(a) for each k)) with a = conv1(x); stride-1 pools padded to keep the size.</summary>
public sealed class SPPBottleneckEmitter : UnaryEmitter<SPPBottleneck>
{
    public override string Emit(OnnxEmitContext context, SPPBottleneck module, string path, string input)
    {
        var a = context.EmitUnary(module.Conv1, OnnxEmitContext.Child(path, "conv1"), input);
        var parts = new List<string> { a };
        foreach (var k in module.PoolKernelSizes) parts.Add(context.MaxPool(a, k, 1, k / 2, path));
        var cat = context.Graph.Node("Concat", path, parts, Graph.OnnxAttribute.Int("axis", 1));
        return context.EmitUnary(module.Conv2, OnnxEmitContext.Child(path, "conv2"), cat);
    }
}
