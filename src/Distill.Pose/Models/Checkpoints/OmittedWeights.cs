using Distill.Torch;
using Distill.Torch.Nn;

namespace Distill.Pose.Models.Checkpoints;

/// <summary>
/// Weights a model carries but its forward never uses, such as the CSPNeXt stages after the last of
/// backbone.out_indices (mmpose checkpoints keep every stage, so the modules and their names stay). A published
/// weights file may leave them out; it then lists their module prefixes under <see cref="MetadataKey"/> in its
/// safetensors metadata, and <see cref="WeightsLoader.LoadInto"/> leaves those modules as initialised.
/// </summary>
public static class OmittedWeights
{
    /// <summary>The safetensors metadata entry: module prefixes, comma-separated, in the model's order.</summary>
    public const string MetadataKey = "distill.omitted";

    /// <summary>The prefixes recorded in <paramref name="metadata"/>; none when the entry is absent.</summary>
    public static IReadOnlyList<string> Parse(IReadOnlyDictionary<string, string>? metadata)
    {
        if (metadata is null || !metadata.TryGetValue(MetadataKey, out var text)) return [];
        return text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    /// <summary>The metadata value for <paramref name="prefixes"/>.</summary>
    public static string Format(IEnumerable<string> prefixes) => string.Join(",", prefixes);

    /// <summary>True when <paramref name="key"/> names a tensor of a module under one of <paramref name="prefixes"/>.</summary>
    public static bool Covers(IEnumerable<string> prefixes, string key) =>
        prefixes.Any(p => key.StartsWith(p + ".", StringComparison.Ordinal));

    /// <summary>
    /// The outermost modules of <paramref name="model"/> whose forward output does not depend on them, by module name:
    /// those with parameters of which none is in <see cref="ParametersReached"/> (eval and training mode).
    /// </summary>
    public static IReadOnlyList<string> FindUnused(Module<Tensor, Dictionary<string, Tensor>> model, (int Width, int Height) inputSize)
    {
        var used = ParametersReached(model, inputSize, trainingPass: true);
        if (used.Count == 0)
            throw new InvalidOperationException($"no parameter of {model.TypeName} received a gradient from its outputs; cannot tell used weights from unused ones");
        return OutermostModulesWithout(model, used);
    }

    /// <summary>
    /// The names of the parameters of <paramref name="model"/> its forward output depends on. One forward and backward of
    /// a fixed dummy batch of two <paramref name="inputSize"/> images (on the model's device) in eval mode, and with
    /// <paramref name="trainingPass"/> again in training mode, so that a module only training runs through counts. A
    /// gradient that exists but is zero (a dead ReLU, a zero weight) still counts as reached: only a parameter that is not
    /// in the autograd graph at all has no gradient, which makes the test independent of the weights' values. Every
    /// parameter is made trainable first, so frozen stages are not mistaken for unreached ones. Buffers are never probed.
    /// The model's buffers, trainable flags and mode are restored, its gradients left cleared, and no step is taken.
    /// The eval pass draws nothing from the global generator; a training pass may (dropout, drop path).
    /// </summary>
    public static HashSet<string> ParametersReached(Module<Tensor, Dictionary<string, Tensor>> model, (int Width, int Height) inputSize,
        bool trainingPass)
    {
        bool wasTraining = model.Training;
        var requires = model.Parameters().Select(p => p.RequiresGrad).ToList();
        var buffers = model.Buffers().Select(b => b.Clone()).ToList();
        var device = model.Parameters().FirstOrDefault()?.Device ?? Device.Cpu;
        var reached = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            model.RequiresGrad_(true);
            foreach (bool training in trainingPass ? new[] { false, true } : [false])
            {
                model.Train(training);
                model.ZeroGrad();
                using (Autograd.EnableGrad())
                using (torch.NewDisposeScope())
                {
                    var outputs = model.Forward(DummyInput(inputSize).To(device));
                    var terms = outputs.Values.Where(o => o.DType.IsFloatingPoint() && o.RequiresGrad).Select(o => o.Sum()).ToList();
                    if (terms.Count > 0)
                    {
                        var total = terms[0];
                        foreach (var t in terms.Skip(1)) total = total.Add(t);
                        total.Backward();
                    }
                }
                foreach (var (name, p) in model.NamedParameters())
                {
                    using var g = p.Grad;
                    if (g is not null) reached.Add(name);
                }
                model.ZeroGrad();
            }
        }
        finally
        {
            using (Autograd.NoGrad())
            {
                foreach (var (b, saved) in model.Buffers().Zip(buffers)) b.Copy_(saved);
            }
            foreach (var b in buffers) b.Dispose();
            foreach (var (p, r) in model.Parameters().Zip(requires)) p.RequiresGrad = r;
            model.Train(wasTraining);
        }
        return reached;
    }

    /// <summary>The outermost modules that have parameters, none of them in <paramref name="reached"/>, in the model's order.</summary>
    public static IReadOnlyList<string> OutermostModulesWithout(Module model, IReadOnlySet<string> reached)
    {
        var modules = new List<string>();
        foreach (var (name, module) in model.NamedModules())
        {
            if (name.Length == 0 || Covers(modules, name)) continue;
            var own = module.NamedParameters().Select(p => name + "." + p.Name).ToList();
            if (own.Count > 0 && !own.Any(reached.Contains)) modules.Add(name);
        }
        return modules;
    }

    /// <summary>
    /// Checks what <see cref="FindUnused"/> found by its effect: the eval-mode output of the dummy batch must stay
    /// bit-identical when every parameter and buffer under <paramref name="prefixes"/> is overwritten. Catches a module
    /// read outside autograd (under no_grad, say), which the gradient test alone would call unused. The model's
    /// tensors under the prefixes are left overwritten; the others are untouched.
    /// </summary>
    /// <exception cref="InvalidOperationException">A module under the prefixes changes the output.</exception>
    public static void VerifyUnused(Module<Tensor, Dictionary<string, Tensor>> model, (int Width, int Height) inputSize,
        IReadOnlyList<string> prefixes)
    {
        if (prefixes.Count == 0) return;
        bool wasTraining = model.Training;
        model.Eval();
        try
        {
            using var _ = Autograd.NoGrad();
            using var input = DummyInput(inputSize);
            var before = model.Forward(input);
            try
            {
                foreach (var (key, t) in model.StateDict().Where(kv => Covers(prefixes, kv.Key)))
                    t.Fill_(t.DType.IsFloatingPoint() ? 0.5 : 1);
                var after = model.Forward(input);
                try
                {
                    foreach (var (name, b) in before)
                    {
                        var a = after[name];
                        using var same = a.Eq(b).All();
                        if (!a.Shape.SequenceEqual(b.Shape) || same.ItemLong() != 1)
                            throw new InvalidOperationException(
                                $"output '{name}' of {model.TypeName} changes when {Format(prefixes)} change, although no parameter there receives a gradient");
                    }
                }
                finally
                {
                    foreach (var t in after.Values) t.Dispose();
                }
            }
            finally
            {
                foreach (var t in before.Values) t.Dispose();
            }
        }
        finally
        {
            model.Train(wasTraining);
        }
    }

    /// <summary>Two fixed pseudo-random images (seeded here, so the global generator is not drawn from).</summary>
    private static Tensor DummyInput((int Width, int Height) size)
    {
        using var gen = new Generator(0);
        return torch.Randn([2, 3, size.Height, size.Width], gen);
    }
}
