namespace Distill.Torch.Serialization;

/// <summary>
/// An inert stand-in for a Python global (class or function) that the restricted unpickler does not rebuild, such as
/// <c>numpy.dtype</c> or an mmengine class in a checkpoint's <c>meta</c> section. It records the name only;
/// nothing is imported or called.
/// </summary>
public sealed class PickleGlobal(string module, string name)
{
    public string Module { get; } = module;

    public string Name { get; } = name;

    public string FullName => Module + "." + Name;

    public override string ToString() => FullName;
}
