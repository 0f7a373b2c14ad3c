using System.Globalization;
using System.Text.Json.Nodes;
using Distill.Torch.Interop;

namespace Distill.Torch.Optim;

/// <summary>
/// Base of the optimizers, in PyTorch's vocabulary: parameter groups, <see cref="Step"/>, <see cref="ZeroGrad"/>,
/// <see cref="StateDict"/> / <see cref="LoadStateDict"/>. Per-parameter state is created lazily at the first step
/// that sees a gradient, lives outside every dispose scope, and is freed by <see cref="Dispose"/>. Parameters are
/// indexed in group order across all groups, as in PyTorch's state dict.
/// </summary>
public abstract class Optimizer : IDisposable
{
    private readonly List<ParamGroup> _groups = [];
    private readonly List<int> _offsets = [];
    private readonly List<ParamState?> _state = [];
    private bool _disposed;

    private protected Optimizer() { }

    public IReadOnlyList<ParamGroup> ParamGroups => _groups;

    /// <summary>The name stored in the state dict's <c>type</c>; a state dict only loads into the same type.</summary>
    public abstract string TypeName { get; }

    /// <summary>Updates every parameter that has a gradient; parameters without one are skipped, as in PyTorch.</summary>
    public abstract void Step();

    /// <summary>Adds a group; options it leaves unset take this optimizer's defaults.</summary>
    public void AddParamGroup(ParamGroup group)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(group);
        var prepared = Prepare(group);
        for (int j = 0; j < prepared.Params.Count; j++)
        {
            var p = prepared.Params[j] ?? throw new ArgumentException($"param group {_groups.Count}: parameter {j} is null");
            if (!p.IsLeaf) throw new ArgumentException($"param group {_groups.Count}: parameter {j} is not a leaf tensor and cannot be optimized");
            foreach (var g in _groups)
                foreach (var q in g.Params)
                    if (ReferenceEquals(p, q) || p.IsSame(q))
                        throw new ArgumentException($"param group {_groups.Count}: parameter {j} already belongs to another group");
            for (int k = 0; k < j; k++)
                if (ReferenceEquals(p, prepared.Params[k]) || p.IsSame(prepared.Params[k]))
                    throw new ArgumentException($"param group {_groups.Count}: parameter {j} repeats parameter {k}");
        }
        _offsets.Add(_state.Count);
        _groups.Add(prepared);
        for (int j = 0; j < prepared.Params.Count; j++) _state.Add(null);
    }

    /// <summary>Clears every parameter's gradient: drops it (default, PyTorch 2 behaviour) or zeroes it in place.</summary>
    public void ZeroGrad(bool setToNone = true)
    {
        foreach (var g in _groups)
            foreach (var p in g.Params)
                p.ZeroGrad(setToNone);
    }

    /// <summary>Checks the group type and fills its unset options from this optimizer's defaults.</summary>
    private protected abstract ParamGroup Prepare(ParamGroup group);

    /// <summary>A group of this optimizer's type over the same parameters, to parse loaded options into.</summary>
    private protected abstract ParamGroup NewGroup(IReadOnlyList<Tensor> parameters);

    /// <summary>Whether the state keeps a per-parameter step count (Adam) or not (SGD).</summary>
    private protected abstract bool HasStepCount { get; }

    /// <summary>The state tensors a parameter of this group must have once it has state.</summary>
    private protected abstract IReadOnlyList<string> StateTensorNames(ParamGroup group);

    /// <summary>The state of parameter <paramref name="index"/> of group <paramref name="group"/>, or null.</summary>
    private protected ParamState? State(int group, int index) => _state[_offsets[group] + index];

    private protected ParamState GetOrCreateState(int group, int index) =>
        _state[_offsets[group] + index] ??= new ParamState();

    /// <summary>True when the parameter has a gradient, without keeping a handle to it.</summary>
    private protected static bool HasGrad(Tensor p)
    {
        Native.Check(Native.distill_grad(p.Handle, out var g));
        if (g == IntPtr.Zero) return false;
        Native.distill_tensor_free(g);
        return true;
    }

    /// <summary>
    /// A snapshot of the optimizer: cloned state tensors (owned by the returned object) and JSON metadata.
    /// Loading it into a fresh optimizer over equal parameters continues bit for bit.
    /// </summary>
    public OptimizerStateDict StateDict()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var groups = new JsonArray();
        for (int g = 0; g < _groups.Count; g++)
        {
            var ids = new JsonArray();
            for (int j = 0; j < _groups[g].Params.Count; j++) ids.Add((long)(_offsets[g] + j));
            var o = new JsonObject { ["params"] = ids };
            _groups[g].WriteOptions(o);
            groups.Add(o);
        }

        var state = new JsonObject();
        var tensors = new Dictionary<string, Tensor>();
        try
        {
            for (int i = 0; i < _state.Count; i++)
            {
                if (_state[i] is not { } s) continue;
                var entry = new JsonObject();
                if (HasStepCount) entry["step"] = s.Step;
                state[i.ToString(CultureInfo.InvariantCulture)] = entry;
                foreach (var (name, t) in s.Tensors) tensors[$"state.{i}.{name}"] = t.Clone();
            }
        }
        catch
        {
            foreach (var t in tensors.Values) t.Dispose();
            throw;
        }

        var meta = new JsonObject { ["type"] = TypeName, ["param_groups"] = groups, ["state"] = state };
        return new OptimizerStateDict(meta, tensors);
    }

    /// <summary>
    /// Restores hyper-parameters, step counts and state tensors saved by <see cref="StateDict"/>. Parameters are
    /// matched by position, as in PyTorch; tensors are copied (cast to each parameter's dtype and device), so the
    /// caller keeps ownership of <paramref name="stateDict"/>. Nothing changes when validation fails.
    /// </summary>
    public void LoadStateDict(OptimizerStateDict stateDict)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(stateDict);
        var meta = stateDict.Metadata;
        const string where = "optimizer state dict";

        string type = JsonRead.String(meta, "type", where);
        if (type != TypeName) throw new InvalidDataException($"{where}: it was saved by {type}, not {TypeName}");

        // 1. Groups: same sizes; saved parameter ids map to ours by position.
        var savedGroups = JsonRead.Array(meta, "param_groups", where);
        if (savedGroups.Count != _groups.Count)
            throw new InvalidDataException($"{where}: it has {savedGroups.Count} param groups, the optimizer has {_groups.Count}");
        var idToIndex = new Dictionary<long, int>();
        var parsed = new List<(JsonObject Options, ParamGroup Group)>();
        for (int g = 0; g < _groups.Count; g++)
        {
            string gw = $"{where}: param_groups[{g}]";
            var o = savedGroups[g] as JsonObject ?? throw new InvalidDataException($"{gw} is not an object");
            var ids = JsonRead.Array(o, "params", gw);
            if (ids.Count != _groups[g].Params.Count)
                throw new InvalidDataException($"{gw} has {ids.Count} parameters, the optimizer's group has {_groups[g].Params.Count}");
            for (int j = 0; j < ids.Count; j++)
            {
                if (!JsonRead.TryLong(ids[j], out long id))
                    throw new InvalidDataException($"{gw}.params[{j}] is not an integer");
                if (!idToIndex.TryAdd(id, _offsets[g] + j))
                    throw new InvalidDataException($"{gw}.params[{j}]: parameter id {id} appears twice");
            }
            var scratch = NewGroup(_groups[g].Params);
            scratch.ReadOptions(o, gw);
            parsed.Add((o, scratch));
        }

        int ResolveId(string key, string context)
        {
            if (!long.TryParse(key, NumberStyles.None, CultureInfo.InvariantCulture, out long id) || !idToIndex.TryGetValue(id, out int index))
                throw new InvalidDataException($"{where}: {context} refers to parameter '{key}', which no param group lists");
            return index;
        }

        // 2. Per-parameter metadata (step counts).
        var steps = new Dictionary<int, long>();
        var savedState = JsonRead.Object(meta, "state", where);
        foreach (var (key, node) in savedState)
        {
            int index = ResolveId(key, $"state['{key}']");
            var entry = node as JsonObject ?? throw new InvalidDataException($"{where}: state['{key}'] is not an object");
            steps[index] = HasStepCount ? JsonRead.Long(entry, "step", $"{where}: state['{key}']") : 0;
            if (HasStepCount && steps[index] < 1)
                throw new InvalidDataException($"{where}: state['{key}'].step must be >= 1, not {steps[index]}");
        }

        // 3. Tensors: names this optimizer knows, shapes of their parameters, complete sets.
        var byIndex = new Dictionary<int, Dictionary<string, Tensor>>();
        foreach (var (key, t) in stateDict.Tensors)
        {
            var parts = key.Split('.');
            if (parts.Length != 3 || parts[0] != "state")
                throw new InvalidDataException($"{where}: tensor '{key}' is not named state.<param>.<name>");
            int index = ResolveId(parts[1], $"tensor '{key}'");
            var (group, _) = Locate(index);
            var allowed = StateTensorNames(parsed[group].Group);
            if (!allowed.Contains(parts[2]))
                throw new InvalidDataException($"{where}: tensor '{key}': {TypeName} with these options keeps no '{parts[2]}' (expected {string.Join(", ", allowed)})");
            var shape = ParamAt(index).Shape;
            if (!t.Shape.SequenceEqual(shape))
                throw new InvalidDataException($"{where}: tensor '{key}' has shape [{string.Join(", ", t.Shape)}], its parameter [{string.Join(", ", shape)}]");
            if (!byIndex.TryGetValue(index, out var named)) byIndex[index] = named = new Dictionary<string, Tensor>();
            named[parts[2]] = t;
        }
        foreach (var index in byIndex.Keys.Union(HasStepCount ? steps.Keys : []))
        {
            var (group, _) = Locate(index);
            byIndex.TryGetValue(index, out var named);
            foreach (var name in StateTensorNames(parsed[group].Group))
                if (named is null || !named.ContainsKey(name))
                    throw new InvalidDataException($"{where}: parameter {SavedId(idToIndex, index)} has state but no tensor 'state.{SavedId(idToIndex, index)}.{name}'");
            if (HasStepCount && !steps.ContainsKey(index))
                throw new InvalidDataException($"{where}: parameter {SavedId(idToIndex, index)} has state tensors but no state['{SavedId(idToIndex, index)}'].step");
        }

        // 4. Commit: options, then fresh state tensors shaped and typed like the parameters.
        var fresh = new ParamState?[_state.Count];
        try
        {
            foreach (var (index, named) in byIndex)
            {
                var p = ParamAt(index);
                var s = fresh[index] = new ParamState { Step = steps.GetValueOrDefault(index) };
                foreach (var (name, t) in named)
                    s.Tensors[name] = t.To(p.DType, p.Device, copy: true).DetachFromDisposeScope();
            }
        }
        catch
        {
            foreach (var s in fresh) s?.Dispose();
            throw;
        }
        for (int g = 0; g < _groups.Count; g++) _groups[g].ReadOptions(parsed[g].Options, $"{where}: param_groups[{g}]");
        for (int i = 0; i < _state.Count; i++)
        {
            _state[i]?.Dispose();
            _state[i] = fresh[i];
        }
    }

    private static long SavedId(Dictionary<long, int> idToIndex, int index) => idToIndex.First(kv => kv.Value == index).Key;

    private (int Group, int Index) Locate(int globalIndex)
    {
        int g = _offsets.Count - 1;
        while (_offsets[g] > globalIndex) g--;
        return (g, globalIndex - _offsets[g]);
    }

    private Tensor ParamAt(int globalIndex)
    {
        var (g, j) = Locate(globalIndex);
        return _groups[g].Params[j];
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var s in _state) s?.Dispose();
        _state.Clear();
        GC.SuppressFinalize(this);
    }

    private protected void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    /// <summary>One parameter's optimizer state: named tensors (momentum_buffer, exp_avg, ...) and a step count.</summary>
    private protected sealed class ParamState : IDisposable
    {
        public readonly Dictionary<string, Tensor> Tensors = new();
        public long Step;

        public Tensor? Get(string name) => Tensors.GetValueOrDefault(name);

        /// <summary>Stores a tensor the optimizer created; it leaves every dispose scope for good.</summary>
        public Tensor Set(string name, Tensor t)
        {
            t.DetachFromDisposeScope();
            if (Tensors.Remove(name, out var old)) old.Dispose();
            Tensors[name] = t;
            return t;
        }

        public void Dispose()
        {
            foreach (var t in Tensors.Values) t.Dispose();
            Tensors.Clear();
        }
    }
}
