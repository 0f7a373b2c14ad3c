using System.Globalization;
using Distill.Onnx.Protos;
using Distill.Torch;

namespace Distill.Onnx.Graph;

/// <summary>
/// Builds one ONNX graph: typed inputs and outputs, weights as initializers, small constants shared by value, and
/// nodes appended in execution order (which is topological, because every input exists before it is used). Every
/// value and node gets a unique name derived from a hint, usually the module path.
/// </summary>
public sealed class OnnxGraph
{
    private readonly GraphProto _graph;
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly HashSet<string> _values = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _constants = new(StringComparer.Ordinal);
    private readonly Dictionary<string, NodeProto> _producers = new(StringComparer.Ordinal);

    public OnnxGraph(int opset, string name = "graph")
    {
        Opset = opset;
        _graph = new GraphProto { Name = name };
    }

    /// <summary>The standard operator set version the nodes are written for.</summary>
    public int Opset { get; }

    public IReadOnlyList<NodeProto> Nodes => _graph.Node;

    public IReadOnlyList<TensorProto> Initializers => _graph.Initializer;

    /// <summary>Whether a value (input, initializer or node output) of this name exists.</summary>
    public bool HasValue(string name) => _values.Contains(name);

    /// <summary><paramref name="hint"/> itself when unused, else the hint with the first free numeric suffix.</summary>
    public string UniqueName(string hint)
    {
        if (string.IsNullOrEmpty(hint)) hint = "value";
        if (_names.Add(hint)) return hint;
        for (int i = 1; ; i++)
        {
            string candidate = hint + "_" + i.ToString(CultureInfo.InvariantCulture);
            if (_names.Add(candidate)) return candidate;
        }
    }

    /// <summary>Declares a graph input with exactly this name.</summary>
    public string AddInput(string name, TensorProto.Types.DataType type, params OnnxDim[] dims)
    {
        if (!_names.Add(name)) throw new ArgumentException($"the graph already has a value named '{name}'");
        _values.Add(name);
        _graph.Input.Add(ValueInfo(name, type, dims));
        return name;
    }

    /// <summary>
    /// Declares <paramref name="value"/> a graph output called <paramref name="name"/>: the producing node's output
    /// is renamed when possible, otherwise an Identity node copies it.
    /// </summary>
    /// <remarks>
    /// Null <paramref name="dims"/> leaves the rank undeclared. Returns <paramref name="name"/>, the value's name from
    /// now on (later nodes must read the output under it).
    /// </remarks>
    public string AddOutput(string value, string name, TensorProto.Types.DataType type, OnnxDim[]? dims)
    {
        if (!_values.Contains(value)) throw new ArgumentException($"the graph has no value '{value}'");
        if (_graph.Output.Any(o => o.Name == name)) throw new ArgumentException($"the graph already has an output named '{name}'");
        bool renamable = value != name && _producers.TryGetValue(value, out _) && !_graph.Output.Any(o => o.Name == value) && !_names.Contains(name);
        if (value != name)
        {
            if (renamable) Rename(value, name);
            else
            {
                if (!_names.Add(name)) throw new ArgumentException($"the graph already has a value named '{name}'");
                var node = new NodeProto { OpType = "Identity", Name = UniqueName(name + "/Identity") };
                node.Input.Add(value);
                node.Output.Add(name);
                _graph.Node.Add(node);
                _producers[name] = node;
                _values.Add(name);
            }
        }
        _graph.Output.Add(ValueInfo(name, type, dims));
        return name;
    }

    private void Rename(string from, string to)
    {
        _names.Add(to);
        _values.Remove(from);
        _values.Add(to);
        var producer = _producers[from];
        _producers.Remove(from);
        _producers[to] = producer;
        foreach (var node in _graph.Node)
        {
            for (int i = 0; i < node.Output.Count; i++) if (node.Output[i] == from) node.Output[i] = to;
            for (int i = 0; i < node.Input.Count; i++) if (node.Input[i] == from) node.Input[i] = to;
        }
    }

    /// <summary>Stores a float32 copy of <paramref name="tensor"/> as a weight; returns its (unique) name.</summary>
    public string AddInitializer(string hint, Tensor tensor) => Register(OnnxTensors.FromTensor(UniqueName(hint), tensor));

    public string AddInitializer(string hint, ReadOnlySpan<float> data, params long[] dims) =>
        Register(OnnxTensors.Float(UniqueName(hint), data, dims));

    public string AddInt64Initializer(string hint, ReadOnlySpan<long> data, params long[] dims) =>
        Register(OnnxTensors.Int64(UniqueName(hint), data, dims));

    private string Register(TensorProto tensor)
    {
        _values.Add(tensor.Name);
        _graph.Initializer.Add(tensor);
        return tensor.Name;
    }

    /// <summary>A float32 scalar constant, shared with every other use of the same value.</summary>
    public string Constant(float value) => Constant([value], []);

    /// <summary>A float32 constant of shape <paramref name="dims"/>, shared by value.</summary>
    public string Constant(float[] values, long[] dims)
    {
        string key = "f32[" + string.Join(",", dims) + "]" + string.Join(",", values.Select(v => BitConverter.SingleToInt32Bits(v)));
        if (_constants.TryGetValue(key, out var name)) return name;
        string hint = values.Length == 1 ? "const_" + values[0].ToString("R", CultureInfo.InvariantCulture) : "const_f32";
        name = AddInitializer(hint, values, dims);
        _constants[key] = name;
        return name;
    }

    /// <summary>A 1-D int64 constant (axes, shapes, split sizes), shared by value.</summary>
    public string Int64s(params long[] values) => Int64Constant(values, [values.Length]);

    /// <summary>A 0-D int64 constant (for example a Gather index that drops the axis), shared by value.</summary>
    public string Int64Scalar(long value) => Int64Constant([value], []);

    private string Int64Constant(long[] values, long[] dims)
    {
        string key = "i64[" + string.Join(",", dims) + "]" + string.Join(",", values);
        if (_constants.TryGetValue(key, out var name)) return name;
        name = AddInt64Initializer("const_i64_" + string.Join("_", values).Replace('-', 'm'), values, dims);
        _constants[key] = name;
        return name;
    }

    /// <summary>Appends a node with one output; returns the output's name. An empty input name skips an optional input.</summary>
    public string Node(string opType, string hint, IReadOnlyList<string> inputs, params AttributeProto[] attributes) =>
        Node(opType, hint, inputs, 1, attributes)[0];

    /// <summary>Appends a node with <paramref name="outputs"/> outputs; returns their names.</summary>
    public string[] Node(string opType, string hint, IReadOnlyList<string> inputs, int outputs, params AttributeProto[] attributes)
    {
        foreach (var input in inputs)
            if (input.Length > 0 && !_values.Contains(input))
                throw new InvalidOperationException($"{opType} node '{hint}' reads '{input}', which no earlier node, input or initializer defines");
        string nodeName = UniqueName(hint + "/" + opType);
        var node = new NodeProto { OpType = opType, Name = nodeName };
        node.Input.AddRange(inputs);
        node.Attribute.AddRange(attributes);
        var names = new string[outputs];
        for (int i = 0; i < outputs; i++)
        {
            names[i] = UniqueName(nodeName + ":out" + (outputs == 1 ? "" : i.ToString(CultureInfo.InvariantCulture)));
            node.Output.Add(names[i]);
            _values.Add(names[i]);
            _producers[names[i]] = node;
        }
        _graph.Node.Add(node);
        return names;
    }

    /// <summary>The graph as a protobuf message (a deep copy, so the builder can keep going).</summary>
    public GraphProto ToProto() => _graph.Clone();

    private static ValueInfoProto ValueInfo(string name, TensorProto.Types.DataType type, OnnxDim[]? dims)
    {
        var tensorType = new TypeProto.Types.Tensor { ElemType = (int)type };
        var info = new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = tensorType } };
        if (dims is null) return info;
        var shape = new TensorShapeProto();
        foreach (var d in dims)
        {
            var dim = new TensorShapeProto.Types.Dimension();
            if (d.Value is long v) dim.DimValue = v;
            else if (d.Symbol is string s) dim.DimParam = s;
            shape.Dim.Add(dim);
        }
        tensorType.Shape = shape;
        return info;
    }
}
