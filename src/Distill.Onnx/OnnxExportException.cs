namespace Distill.Onnx;

/// <summary>A model or option set that cannot be written as ONNX; the message names the module path or option.</summary>
public sealed class OnnxExportException : Exception
{
    public OnnxExportException(string message) : base(message) { }

    public OnnxExportException(string message, Exception inner) : base(message, inner) { }
}
