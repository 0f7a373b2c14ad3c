namespace Distill.Torch.Serialization;

/// <summary>The few Python globals the restricted unpickler interprets itself (all pure data constructors).</summary>
internal enum KnownGlobalKind
{
    OrderedDict,
    RebuildTensor,
    RebuildTensorV2,
    RebuildTensorV3,
    RebuildParameter,
    RebuildParameterWithState,
    RebuildFromTypeV2,
    TensorClass,
    CodecsEncode,
}

internal sealed record KnownGlobal(string Module, string Name, KnownGlobalKind Kind)
{
    public override string ToString() => Module + "." + Name;
}

/// <summary>A torch storage class (torch.FloatStorage, ..., torch.UntypedStorage) named by a persistent id.</summary>
internal sealed record TorchStorageType(string Name, DType DType, bool Untyped)
{
    public override string ToString() => "torch." + Name;
}
