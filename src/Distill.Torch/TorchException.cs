namespace Distill.Torch;

/// <summary>An error reported by libtorch (or the shim around it), carrying libtorch's own message.</summary>
public sealed class TorchException : Exception
{
    public TorchException(string message) : base(message) { }
}
