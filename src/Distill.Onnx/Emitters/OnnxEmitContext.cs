using Distill.Onnx.Graph;
using Distill.Pose.Models.Layers;
using Distill.Torch;
using Distill.Torch.Nn;

namespace Distill.Onnx.Emitters;

/// <summary>
/// What emitters share while one model is written: the graph, the options, dispatch to the emitters of child
/// modules, and the operator sequences that several modules use (linear layers, normalisations, activations), each
/// written the way the target opset allows.
/// </summary>
public sealed class OnnxEmitContext(OnnxGraph graph, OnnxExportOptions options, (int Width, int Height) inputSize)
{
    public OnnxGraph Graph { get; } = graph;
    public OnnxExportOptions Options { get; } = options;
    public int Opset => Graph.Opset;

    /// <summary>The network input size the graph is written for (the model's native size).</summary>
    public (int Width, int Height) InputSize { get; } = inputSize;

    /// <summary>Emits <paramref name="module"/> through its registered emitter.</summary>
    public IReadOnlyList<string> Emit(Module module, string path, IReadOnlyList<string> inputs)
    {
        var emitter = OnnxEmitters.Find(module.GetType())
            ?? throw new OnnxExportException($"module '{path}' of type {OnnxEmitters.TypeName(module.GetType())} has no ONNX emitter");
        return emitter.Emit(this, module, path, inputs);
    }

    /// <summary>Emits a one-input, one-output module.</summary>
    public string EmitUnary(Module module, string path, string input)
    {
        var outputs = Emit(module, path, [input]);
        if (outputs.Count != 1) throw new OnnxExportException($"module '{path}' ({module.TypeName}) produced {outputs.Count} outputs where one was expected");
        return outputs[0];
    }

    public static string Child(string path, string name) => path.Length == 0 ? name : path + "." + name;

    // ---- elementwise and shape helpers --------------------------------------------------------------------

    public string Add(string a, string b, string hint) => Graph.Node("Add", hint, [a, b]);
    public string Sub(string a, string b, string hint) => Graph.Node("Sub", hint, [a, b]);
    public string Mul(string a, string b, string hint) => Graph.Node("Mul", hint, [a, b]);
    public string Div(string a, string b, string hint) => Graph.Node("Div", hint, [a, b]);
    public string MatMul(string a, string b, string hint) => Graph.Node("MatMul", hint, [a, b]);

    /// <summary>Reshape to <paramref name="shape"/>, where 0 keeps the input's size (the batch axis stays dynamic) and -1 is inferred.</summary>
    public string Reshape(string x, long[] shape, string hint) => Graph.Node("Reshape", hint, [x, Graph.Int64s(shape)]);

    public string Transpose(string x, long[] perm, string hint) => Graph.Node("Transpose", hint, [x], OnnxAttribute.Ints("perm", perm));

    // ReduceMean, ReduceL2 and ReduceMax take their axes as an attribute up to opset 17; ReduceSum took them as an input from 13.
    public string ReduceMean(string x, long[] axes, bool keepDims, string hint) =>
        Graph.Node("ReduceMean", hint, [x], OnnxAttribute.Ints("axes", axes), OnnxAttribute.Int("keepdims", keepDims ? 1 : 0));

    public string ReduceMax(string x, long[] axes, bool keepDims, string hint) =>
        Graph.Node("ReduceMax", hint, [x], OnnxAttribute.Ints("axes", axes), OnnxAttribute.Int("keepdims", keepDims ? 1 : 0));

    public string ReduceL2(string x, long[] axes, bool keepDims, string hint) =>
        Graph.Node("ReduceL2", hint, [x], OnnxAttribute.Ints("axes", axes), OnnxAttribute.Int("keepdims", keepDims ? 1 : 0));

    // From opset 13 Squeeze, Unsqueeze and Split read axes and split sizes from inputs.
    public string Squeeze(string x, long[] axes, string hint) => Graph.Node("Squeeze", hint, [x, Graph.Int64s(axes)]);
    public string Unsqueeze(string x, long[] axes, string hint) => Graph.Node("Unsqueeze", hint, [x, Graph.Int64s(axes)]);

    public string[] Split(string x, long axis, long[] sizes, string hint) =>
        Graph.Node("Split", hint, [x, Graph.Int64s(sizes)], sizes.Length, OnnxAttribute.Int("axis", axis));

    public string MaxPool(string x, long kernel, long stride, long padding, string hint) =>
        Graph.Node("MaxPool", hint, [x],
            OnnxAttribute.Ints("kernel_shape", kernel, kernel),
            OnnxAttribute.Ints("strides", stride, stride),
            OnnxAttribute.Ints("pads", padding, padding, padding, padding));

    // ---- layers -------------------------------------------------------------------------------------------

    /// <summary>y = x W^T + b as MatMul with the stored transpose (works for any leading shape) and Add.</summary>
    public string Linear(Linear m, string path, string x)
    {
        string wt;
        using (Autograd.NoGrad())
        using (var t = m.Weight.T()) wt = Graph.AddInitializer(Child(path, "weight_t"), t);
        var y = MatMul(x, wt, path);
        return m.Bias is null ? y : Add(y, Graph.AddInitializer(Child(path, "bias"), m.Bias), path);
    }

    public string Conv(Conv2d conv, string path, string x) =>
        Conv(x, path, Graph.AddInitializer(Child(path, "weight"), conv.Weight),
            conv.Bias is null ? null : Graph.AddInitializer(Child(path, "bias"), conv.Bias), conv);

    /// <summary>A Conv node with <paramref name="conv"/>'s geometry and BatchNorm-folded weights.</summary>
    public string Conv(string x, string path, FoldedConv folded, Conv2d conv) =>
        Conv(x, path, Graph.AddInitializer(Child(path, "weight"), folded.Weight, folded.WeightShape),
            Graph.AddInitializer(Child(path, "bias"), folded.Bias, folded.Bias.Length), conv);

    private string Conv(string x, string path, string weight, string? bias, Conv2d conv)
    {
        var inputs = new List<string> { x, weight };
        if (bias is not null) inputs.Add(bias);
        return Graph.Node("Conv", path, inputs,
            OnnxAttribute.Ints("kernel_shape", conv.KernelSize.H, conv.KernelSize.W),
            OnnxAttribute.Ints("strides", conv.Stride.H, conv.Stride.W),
            OnnxAttribute.Ints("pads", conv.Padding.H, conv.Padding.W, conv.Padding.H, conv.Padding.W),
            OnnxAttribute.Ints("dilations", conv.Dilation.H, conv.Dilation.W),
            OnnxAttribute.Int("group", conv.Groups));
    }

    public string ConvTranspose(ConvTranspose2d conv, string path, string x) =>
        ConvTranspose(x, path, Graph.AddInitializer(Child(path, "weight"), conv.Weight),
            conv.Bias is null ? null : Graph.AddInitializer(Child(path, "bias"), conv.Bias), conv);

    /// <summary>A ConvTranspose node with BatchNorm-folded weights.</summary>
    public string ConvTranspose(string x, string path, FoldedConv folded, ConvTranspose2d conv) =>
        ConvTranspose(x, path, Graph.AddInitializer(Child(path, "weight"), folded.Weight, folded.WeightShape),
            Graph.AddInitializer(Child(path, "bias"), folded.Bias, folded.Bias.Length), conv);

    /// <summary>ONNX and PyTorch share the (in, out / groups, kh, kw) weight layout and the output size rule.</summary>
    private string ConvTranspose(string x, string path, string weight, string? bias, ConvTranspose2d conv)
    {
        var inputs = new List<string> { x, weight };
        if (bias is not null) inputs.Add(bias);
        return Graph.Node("ConvTranspose", path, inputs,
            OnnxAttribute.Ints("kernel_shape", conv.KernelSize, conv.KernelSize),
            OnnxAttribute.Ints("strides", conv.Stride.H, conv.Stride.W),
            OnnxAttribute.Ints("pads", conv.Padding.H, conv.Padding.W, conv.Padding.H, conv.Padding.W),
            OnnxAttribute.Ints("output_padding", conv.OutputPadding.H, conv.OutputPadding.W),
            OnnxAttribute.Int("group", conv.Groups));
    }

    /// <summary>Inference-mode BatchNormalization with the running statistics.</summary>
    public string BatchNorm(BatchNorm2d bn, string path, string x) =>
        Graph.Node("BatchNormalization", path,
            [
                x,
                Graph.AddInitializer(Child(path, "weight"), bn.Weight),
                Graph.AddInitializer(Child(path, "bias"), bn.Bias),
                Graph.AddInitializer(Child(path, "running_mean"), bn.RunningMean),
                Graph.AddInitializer(Child(path, "running_var"), bn.RunningVar),
            ],
            OnnxAttribute.Float("epsilon", (float)bn.Eps));

    /// <summary>
    /// LayerNormalization over the last axis from opset 17; below it the same arithmetic from ReduceMean, Sub, Mul,
    /// Add, Sqrt and Div: (x - mean) / sqrt(mean((x - mean)^2) + eps) * weight + bias.
    /// </summary>
    public string LayerNorm(LayerNorm m, string path, string x)
    {
        string? w = m.Weight is null ? null : Graph.AddInitializer(Child(path, "weight"), m.Weight);
        string? b = m.Bias is null ? null : Graph.AddInitializer(Child(path, "bias"), m.Bias);
        if (Opset >= 17)
        {
            var inputs = new List<string> { x, w ?? Graph.Constant(Enumerable.Repeat(1f, (int)m.NormalizedShape[0]).ToArray(), [m.NormalizedShape[0]]) };
            if (b is not null) inputs.Add(b);
            return Graph.Node("LayerNormalization", path, inputs, OnnxAttribute.Int("axis", -1), OnnxAttribute.Float("epsilon", (float)m.Eps));
        }
        var mean = ReduceMean(x, [-1], true, path);
        var centred = Sub(x, mean, path);
        var variance = ReduceMean(Mul(centred, centred, path), [-1], true, path);
        var std = Graph.Node("Sqrt", path, [Add(variance, Graph.Constant((float)m.Eps), path)]);
        var y = Div(centred, std, path);
        if (w is not null) y = Mul(y, w, path);
        if (b is not null) y = Add(y, b, path);
        return y;
    }

    /// <summary>ScaleNorm: x / max(||x||_2 * dim^-0.5, eps) * g, the norm from ReduceL2 and the floor from Clip's min input.</summary>
    public string ScaleNorm(ScaleNorm m, string path, string x)
    {
        var norm = Mul(ReduceL2(x, [-1], true, path), Graph.Constant((float)m.Scale), path);
        var clamped = Graph.Node("Clip", path, [norm, Graph.Constant((float)m.Eps)]);
        return Mul(Div(x, clamped, path), Graph.AddInitializer(Child(path, "g"), m.G), path);
    }

    // ---- activations --------------------------------------------------------------------------------------

    /// <summary>SiLU as x * Sigmoid(x) (no SiLU operator exists in these opsets).</summary>
    public string Silu(string x, string hint) => Mul(x, Graph.Node("Sigmoid", hint, [x]), hint);

    /// <summary>Exact GELU, 0.5 x (1 + erf(x / sqrt 2)): the Gelu operator only arrives in opset 20.</summary>
    public string Gelu(string x, string hint)
    {
        var erf = Graph.Node("Erf", hint, [Div(x, Graph.Constant((float)Math.Sqrt(2.0)), hint)]);
        return Mul(Mul(x, Add(erf, Graph.Constant(1f), hint), hint), Graph.Constant(0.5f), hint);
    }

    /// <summary>GELU's tanh form, 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))).</summary>
    public string GeluTanh(string x, string hint)
    {
        var cube = Mul(Mul(x, x, hint), x, hint);
        var inner = Mul(Add(x, Mul(cube, Graph.Constant(0.044715f), hint), hint), Graph.Constant((float)Math.Sqrt(2.0 / Math.PI)), hint);
        var t = Graph.Node("Tanh", hint, [inner]);
        return Mul(Mul(x, Add(t, Graph.Constant(1f), hint), hint), Graph.Constant(0.5f), hint);
    }

    /// <summary>
    /// PyTorch's hardsigmoid, clip(x / 6 + 1/2, 0, 1). ONNX's HardSigmoid defaults to alpha 0.2, so alpha and beta are
    /// always written; the edge-safe form spells it out with Mul, Add and Clip.
    /// </summary>
    public string HardSigmoid(string x, string hint)
    {
        if (!Options.EdgeSafe)
            return Graph.Node("HardSigmoid", hint, [x], OnnxAttribute.Float("alpha", 1f / 6f), OnnxAttribute.Float("beta", 0.5f));
        var affine = Add(Mul(x, Graph.Constant(1f / 6f), hint), Graph.Constant(0.5f), hint);
        return Graph.Node("Clip", hint, [affine, Graph.Constant(0f), Graph.Constant(1f)]);
    }

    public string Activation(Activation act, string x, string hint) => act switch
    {
        Pose.Models.Layers.Activation.None => x,
        Pose.Models.Layers.Activation.ReLU => Graph.Node("Relu", hint, [x]),
        Pose.Models.Layers.Activation.SiLU => Silu(x, hint),
        _ => throw new OnnxExportException($"module '{hint}': activation {act} has no ONNX form"),
    };
}
