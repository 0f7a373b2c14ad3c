using Distill.Torch.Nn;

namespace Distill.Onnx.Emitters;

/// <summary>Writes the ONNX nodes of one module type.</summary>
public interface IModuleEmitter
{
    /// <summary>The module type handled; an open generic type (ModuleList&lt;&gt;) covers all its constructions.</summary>
    Type ModuleType { get; }

    /// <summary>Why this module cannot be exported with these options, or null when it can. Runs before anything is written.</summary>
    string? CheckSupported(Module module, OnnxExportOptions options);

    /// <summary>Appends the module's nodes reading <paramref name="inputs"/>; returns its output value names.</summary>
    IReadOnlyList<string> Emit(OnnxEmitContext context, Module module, string path, IReadOnlyList<string> inputs);
}

/// <summary>An emitter for modules of type <typeparamref name="T"/>.</summary>
public abstract class ModuleEmitter<T> : IModuleEmitter where T : Module
{
    public Type ModuleType => typeof(T);

    public virtual string? CheckSupported(T module, OnnxExportOptions options) => null;

    public abstract IReadOnlyList<string> Emit(OnnxEmitContext context, T module, string path, IReadOnlyList<string> inputs);

    string? IModuleEmitter.CheckSupported(Module module, OnnxExportOptions options) => CheckSupported((T)module, options);

    IReadOnlyList<string> IModuleEmitter.Emit(OnnxEmitContext context, Module module, string path, IReadOnlyList<string> inputs) =>
        Emit(context, (T)module, path, inputs);
}

/// <summary>An emitter for a module with one input and one output (most layers).</summary>
public abstract class UnaryEmitter<T> : ModuleEmitter<T> where T : Module
{
    public abstract string Emit(OnnxEmitContext context, T module, string path, string input);

    public sealed override IReadOnlyList<string> Emit(OnnxEmitContext context, T module, string path, IReadOnlyList<string> inputs)
    {
        if (inputs.Count != 1) throw new OnnxExportException($"module '{path}' ({module.TypeName}) takes one input, got {inputs.Count}");
        return [Emit(context, module, path, inputs[0])];
    }
}

/// <summary>A one-input emitter given as a function, for layers whose nodes fit in one expression.</summary>
public sealed class DelegateEmitter<T>(Func<OnnxEmitContext, T, string, string, string> emit, Func<T, OnnxExportOptions, string?>? check = null)
    : UnaryEmitter<T> where T : Module
{
    public override string? CheckSupported(T module, OnnxExportOptions options) => check?.Invoke(module, options);

    public override string Emit(OnnxEmitContext context, T module, string path, string input) => emit(context, module, path, input);
}
