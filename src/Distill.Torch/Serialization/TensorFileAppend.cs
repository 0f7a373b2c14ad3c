using Distill.Torch.Interop;

namespace Distill.Torch.Serialization;

/// <summary>Appends a tensor's bytes (C order) to a file natively, so large tensors never pass through managed memory.</summary>
internal static class TensorFileAppend
{
    public static long Append(Tensor tensor, string path) =>
        Native.Check(Native.distill_tensor_append_to_file(tensor.Handle, path));
}
