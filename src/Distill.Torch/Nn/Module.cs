namespace Distill.Torch.Nn;

/// <summary>What <see cref="Module.LoadStateDict"/> could not match, by name.</summary>
public sealed record LoadResult(
    IReadOnlyList<string> MissingKeys,
    IReadOnlyList<string> UnexpectedKeys,
    IReadOnlyList<(string Key, long[] Expected, long[] Actual)> ShapeMismatches)
{
    public bool IsClean => MissingKeys.Count == 0 && UnexpectedKeys.Count == 0 && ShapeMismatches.Count == 0;

    /// <summary>Keys listed per kind before the rest are only counted: a wrong checkpoint mismatches hundreds.</summary>
    public const int ListedKeys = 5;

    public override string ToString()
    {
        var parts = new List<string>();
        if (MissingKeys.Count > 0) parts.Add($"missing keys ({MissingKeys.Count}): {First(MissingKeys)}");
        if (UnexpectedKeys.Count > 0) parts.Add($"unexpected keys ({UnexpectedKeys.Count}): {First(UnexpectedKeys)}");
        if (ShapeMismatches.Count > 0)
            parts.Add($"shape mismatches ({ShapeMismatches.Count}): " + First(ShapeMismatches.Select(m =>
                $"{m.Key} expects [{string.Join(", ", m.Expected)}] but got [{string.Join(", ", m.Actual)}]").ToList()));
        if (parts.Count == 0) return "all keys matched";
        var text = string.Join("; ", parts);
        return Hint() is { } hint ? $"{text}. Hint: {hint}" : text;
    }

    private static string First(IReadOnlyList<string> items) =>
        string.Join(", ", items.Take(ListedKeys)) + (items.Count > ListedKeys ? $", and {items.Count - ListedKeys} more" : "");

    /// <summary>
    /// What the shape mismatches suggest when they agree: every mismatched tensor larger in the checkpoint (the model
    /// is narrower than the one that wrote it), or every one smaller (wider). Null when they do not agree.
    /// </summary>
    public string? Hint()
    {
        if (ShapeMismatches.Count == 0 || ShapeMismatches.Any(m => m.Expected.Length != m.Actual.Length)) return null;
        bool larger = ShapeMismatches.All(m => m.Expected.Zip(m.Actual).All(d => d.Second >= d.First));
        bool smaller = ShapeMismatches.All(m => m.Expected.Zip(m.Actual).All(d => d.Second <= d.First));
        if (larger) return "the model is narrower than the checkpoint (every mismatched tensor is larger there): check the width or size settings of the model";
        if (smaller) return "the model is wider than the checkpoint (every mismatched tensor is smaller there): check the width or size settings of the model";
        return null;
    }
}

/// <summary>
/// Base of every layer and network. Parameters, buffers and children are registered explicitly and in order, so
/// dotted state-dict names are exactly PyTorch's for the same structure. Parameters and buffers are owned by the
/// module (never by a dispose scope) and disposed with it.
/// </summary>
public abstract class Module : IDisposable
{
    private readonly List<KeyValuePair<string, Tensor?>> _parameters = new();
    private readonly List<(string Name, Tensor? Tensor, bool Persistent)> _buffers = new();
    private readonly List<KeyValuePair<string, Module>> _children = new();

    public bool Training { get; private set; } = true;

    /// <summary>A short type name used in summaries and error messages.</summary>
    public virtual string TypeName => GetType().Name;

    protected Tensor RegisterParameter(string name, Tensor tensor, bool requiresGrad = true)
    {
        CheckName(name);
        tensor.DetachFromDisposeScope();
        if (requiresGrad && tensor.DType.IsFloatingPoint()) tensor.RequiresGrad = true;
        _parameters.Add(new(name, tensor));
        return tensor;
    }

    /// <summary>Registers an absent optional parameter (PyTorch's <c>register_parameter(name, None)</c>).</summary>
    protected void RegisterParameterSlot(string name)
    {
        CheckName(name);
        _parameters.Add(new(name, null));
    }

    protected Tensor RegisterBuffer(string name, Tensor tensor, bool persistent = true)
    {
        CheckName(name);
        tensor.DetachFromDisposeScope();
        _buffers.Add((name, tensor, persistent));
        return tensor;
    }

    protected T RegisterModule<T>(string name, T module) where T : Module
    {
        CheckName(name);
        _children.Add(new(name, module));
        return module;
    }

    /// <summary>Removes a child (for example a BatchNorm folded into its conv); the caller disposes it.</summary>
    protected void UnregisterModule(string name)
    {
        int i = _children.FindIndex(c => c.Key == name);
        if (i < 0) throw new ArgumentException($"{TypeName} has no child '{name}'");
        _children.RemoveAt(i);
    }

    private void CheckName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('.'))
            throw new ArgumentException($"invalid member name '{name}' in {TypeName}");
        if (_parameters.Any(p => p.Key == name) || _buffers.Any(b => b.Name == name) || _children.Any(c => c.Key == name))
            throw new ArgumentException($"{TypeName} already has a member named '{name}'");
    }

    /// <summary>Replaces a registered parameter's tensor (for example after folding BN into a conv).</summary>
    protected void ReplaceParameter(string name, Tensor? tensor)
    {
        int i = _parameters.FindIndex(p => p.Key == name);
        if (i < 0) throw new ArgumentException($"{TypeName} has no parameter '{name}'");
        tensor?.DetachFromDisposeScope();
        if (tensor is not null && tensor.DType.IsFloatingPoint() && !tensor.RequiresGrad) tensor.RequiresGrad = true;
        var old = _parameters[i].Value;
        _parameters[i] = new(name, tensor);
        if (old is not null && !ReferenceEquals(old, tensor)) old.Dispose();
    }

    public IEnumerable<KeyValuePair<string, Module>> NamedChildren() => _children;

    public IEnumerable<Module> Children() => _children.Select(c => c.Value);

    /// <summary>This module and every descendant, with dotted names ("" for this one).</summary>
    public IEnumerable<(string Name, Module Module)> NamedModules(string prefix = "")
    {
        yield return (prefix, this);
        foreach (var (name, child) in _children)
            foreach (var m in child.NamedModules(prefix.Length == 0 ? name : prefix + "." + name))
                yield return m;
    }

    public IEnumerable<(string Name, Tensor Parameter)> NamedParameters(bool recurse = true)
    {
        foreach (var (name, module) in recurse ? NamedModules() : [("", this)])
            foreach (var p in module._parameters)
                if (p.Value is not null)
                    yield return (name.Length == 0 ? p.Key : name + "." + p.Key, p.Value);
    }

    public IEnumerable<Tensor> Parameters(bool recurse = true) => NamedParameters(recurse).Select(p => p.Parameter);

    public IEnumerable<(string Name, Tensor Buffer)> NamedBuffers(bool recurse = true, bool persistentOnly = false)
    {
        foreach (var (name, module) in recurse ? NamedModules() : [("", this)])
            foreach (var b in module._buffers)
                if (b.Tensor is not null && (!persistentOnly || b.Persistent))
                    yield return (name.Length == 0 ? b.Name : name + "." + b.Name, b.Tensor);
    }

    public IEnumerable<Tensor> Buffers(bool recurse = true) => NamedBuffers(recurse).Select(b => b.Buffer);

    /// <summary>
    /// Stores every 4-d parameter and buffer (conv weights) channels-last, in place, as PyTorch's
    /// <c>module.to(memory_format=torch.channels_last)</c>. The tensors keep their identity, so optimizers and copies
    /// that hold them stay valid. Convolutions take libtorch's NHWC kernels when their input is channels-last too;
    /// results differ only by rounding, and default-layout inputs still work, only slower.
    /// </summary>
    public void ToChannelsLast()
    {
        using var _ = Autograd.NoGrad();
        foreach (var t in Parameters().Concat(Buffers()))
        {
            if (t.Dim != 4 || t.IsContiguous(MemoryFormat.ChannelsLast)) continue;
            using var cl = t.Contiguous(MemoryFormat.ChannelsLast);
            t.SetData(cl);
        }
    }

    /// <summary>
    /// Parameters and persistent buffers by dotted name, in registration order (PyTorch's order: each module's own
    /// parameters, then its buffers, then its children). The tensors are the module's own; do not dispose them.
    /// </summary>
    public List<KeyValuePair<string, Tensor>> StateDict()
    {
        var result = new List<KeyValuePair<string, Tensor>>();
        foreach (var (name, module) in NamedModules())
        {
            string prefix = name.Length == 0 ? "" : name + ".";
            foreach (var p in module._parameters)
                if (p.Value is not null) result.Add(new(prefix + p.Key, p.Value));
            foreach (var b in module._buffers)
                if (b.Tensor is not null && b.Persistent) result.Add(new(prefix + b.Name, b.Tensor));
        }
        return result;
    }

    /// <summary>
    /// Copies matching tensors into this module's parameters and buffers. Strict mode throws listing every missing,
    /// unexpected and shape-mismatched key; otherwise the report says what did not load.
    /// </summary>
    public LoadResult LoadStateDict(IReadOnlyDictionary<string, Tensor> stateDict, bool strict = true)
    {
        var own = StateDict();
        var missing = new List<string>();
        var mismatched = new List<(string, long[], long[])>();
        var matched = new List<(Tensor Dst, Tensor Src)>();
        foreach (var (key, dst) in own)
        {
            if (!stateDict.TryGetValue(key, out var src))
            {
                missing.Add(key);
                continue;
            }
            var ds = dst.Shape;
            var ss = src.Shape;
            if (!ds.SequenceEqual(ss))
            {
                mismatched.Add((key, ds, ss));
                continue;
            }
            matched.Add((dst, src));
        }
        var ownKeys = own.Select(kv => kv.Key).ToHashSet();
        var unexpected = stateDict.Keys.Where(k => !ownKeys.Contains(k)).ToList();
        var result = new LoadResult(missing, unexpected, mismatched);
        if (strict && !result.IsClean)
            throw new InvalidDataException($"cannot load state dict into {TypeName}: {result}");
        using (Autograd.NoGrad())
        {
            foreach (var (dst, src) in matched)
            {
                if (src.DType == dst.DType && src.Device == dst.Device)
                {
                    dst.Copy_(src);
                }
                else
                {
                    using var converted = src.To(dst.DType, dst.Device);
                    dst.Copy_(converted);
                }
            }
        }
        return result;
    }

    public Module Train(bool mode = true)
    {
        foreach (var (_, m) in NamedModules()) m.Training = mode;
        return this;
    }

    public Module Eval() => Train(false);

    /// <summary>Moves (or converts) every parameter and buffer in place; handles held elsewhere stay valid.</summary>
    public Module To(Device device) => Convert(t => t.To(device));

    /// <summary>Converts floating-point parameters and buffers to <paramref name="dtype"/>.</summary>
    public Module To(DType dtype) => Convert(t => t.DType.IsFloatingPoint() ? t.To(dtype) : t.Alias());

    private Module Convert(Func<Tensor, Tensor> convert)
    {
        foreach (var t in Parameters().Concat(Buffers()))
        {
            using var moved = convert(t);
            if (!moved.IsSame(t)) t.SetData(moved);
        }
        return this;
    }

    public void ZeroGrad(bool setToNone = true)
    {
        foreach (var p in Parameters()) p.ZeroGrad(setToNone);
    }

    /// <summary>Freezes or unfreezes every parameter.</summary>
    public Module RequiresGrad_(bool requiresGrad)
    {
        foreach (var p in Parameters()) p.RequiresGrad = requiresGrad;
        return this;
    }

    public void Apply(Action<Module> fn)
    {
        foreach (var (_, m) in NamedModules().ToList()) fn(m);
    }

    public long NumParameters(bool trainableOnly = false) =>
        Parameters().Where(p => !trainableOnly || p.RequiresGrad).Sum(p => p.NumEl);

    public virtual void Dispose()
    {
        foreach (var c in _children) c.Value.Dispose();
        foreach (var p in _parameters) p.Value?.Dispose();
        foreach (var b in _buffers) b.Tensor?.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>A module with a typed forward pass.</summary>
public abstract class Module<TIn, TOut> : Module
{
    public abstract TOut Forward(TIn input);

    /// <summary>Same as <see cref="Forward"/> (PyTorch's <c>module(x)</c>).</summary>
    public TOut Call(TIn input) => Forward(input);
}
