namespace Distill.Torch.Serialization;

/// <summary>
/// Decides what a pickle GLOBAL becomes. Modules that can run code or reach the system are refused; the tensor
/// rebuild functions, OrderedDict, storage classes and dtypes that torch.save writes are interpreted; every other
/// global becomes an inert <see cref="PickleGlobal"/>. Nothing is imported or executed in any case.
/// </summary>
internal static class PickleGlobals
{
    // Matched against the top-level package, so os.path, importlib.util or subprocess are caught too. 'posix'/'nt'
    // are where os.system lives on each platform; '__builtin__' is the name protocol-2 pickles use for builtins.
    private static readonly HashSet<string> RefusedModules = new(StringComparer.Ordinal)
    {
        "os", "posix", "nt", "subprocess", "sys", "builtins", "__builtin__", "importlib", "runpy", "shutil",
        "socket", "pty", "commands", "ctypes", "marshal", "pickle", "_pickle", "code", "codeop", "_posixsubprocess",
        "multiprocessing", "webbrowser", "pdb",
    };

    private static readonly Dictionary<string, DType> StorageDTypes = new(StringComparer.Ordinal)
    {
        ["FloatStorage"] = DType.Float32,
        ["DoubleStorage"] = DType.Float64,
        ["HalfStorage"] = DType.Float16,
        ["BFloat16Storage"] = DType.BFloat16,
        ["LongStorage"] = DType.Int64,
        ["IntStorage"] = DType.Int32,
        ["ShortStorage"] = DType.Int16,
        ["CharStorage"] = DType.Int8,
        ["ByteStorage"] = DType.UInt8,
        ["BoolStorage"] = DType.Bool,
    };

    private static readonly Dictionary<string, DType> TorchDTypes = new(StringComparer.Ordinal)
    {
        ["float32"] = DType.Float32, ["float"] = DType.Float32,
        ["float64"] = DType.Float64, ["double"] = DType.Float64,
        ["float16"] = DType.Float16, ["half"] = DType.Float16,
        ["bfloat16"] = DType.BFloat16,
        ["int64"] = DType.Int64, ["long"] = DType.Int64,
        ["int32"] = DType.Int32, ["int"] = DType.Int32,
        ["int16"] = DType.Int16, ["short"] = DType.Int16,
        ["int8"] = DType.Int8,
        ["uint8"] = DType.UInt8,
        ["bool"] = DType.Bool,
    };

    public static bool IsRefused(string module)
    {
        int dot = module.IndexOf('.');
        return RefusedModules.Contains(dot < 0 ? module : module[..dot]);
    }

    /// <summary>The object a GLOBAL pushes; throws <see cref="UnsafePickleException"/> for refused modules.</summary>
    public static object Resolve(string module, string name, string file, long position)
    {
        if (IsRefused(module)) throw new UnsafePickleException(file, module, name, position);
        if (module == "collections" && name == "OrderedDict")
            return new KnownGlobal(module, name, KnownGlobalKind.OrderedDict);
        // Protocol-2 pickles spell every bytes object as _codecs.encode(latin-1 text, 'latin1').
        if (module == "_codecs" && name == "encode")
            return new KnownGlobal(module, name, KnownGlobalKind.CodecsEncode);
        if ((module is "torch" or "torch._tensor" && name == "Tensor") || (module == "torch.nn.parameter" && name == "Parameter"))
            return new KnownGlobal(module, name, KnownGlobalKind.TensorClass);
        if (module is "torch._utils" or "torch._tensor")
        {
            KnownGlobalKind? kind = name switch
            {
                "_rebuild_tensor" => KnownGlobalKind.RebuildTensor,
                "_rebuild_tensor_v2" => KnownGlobalKind.RebuildTensorV2,
                "_rebuild_tensor_v3" => KnownGlobalKind.RebuildTensorV3,
                "_rebuild_parameter" => KnownGlobalKind.RebuildParameter,
                "_rebuild_parameter_with_state" => KnownGlobalKind.RebuildParameterWithState,
                "_rebuild_from_type_v2" => KnownGlobalKind.RebuildFromTypeV2,
                _ => null,
            };
            if (kind is { } k) return new KnownGlobal(module, name, k);
        }
        if (module is "torch" or "torch.storage" && name is "UntypedStorage" or "_UntypedStorage")
            return new TorchStorageType(name, DType.UInt8, Untyped: true);
        if (module == "torch" && StorageDTypes.TryGetValue(name, out var sd))
            return new TorchStorageType(name, sd, Untyped: false);
        if (module == "torch" && TorchDTypes.TryGetValue(name, out var dt))
            return dt;
        return new PickleGlobal(module, name);
    }
}
