using System.Runtime.InteropServices;

namespace Distill.Torch.Interop;

// serialize.cpp
internal static unsafe partial class Native
{
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] internal static partial TensorHandle distill_tensor_from_file(string path, long offset, long nbytes, long* shape, int n, long* strides, long storageOffset, int dtype);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] internal static partial long distill_tensor_append_to_file(TensorHandle t, string path);
}
