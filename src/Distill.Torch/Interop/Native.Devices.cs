using System.Runtime.InteropServices;

namespace Distill.Torch.Interop;

// devices.cpp
internal static partial class Native
{
    [LibraryImport(Lib)] internal static partial int distill_cuda_is_available();
    [LibraryImport(Lib)] internal static partial int distill_cuda_device_count();
    [LibraryImport(Lib)] internal static unsafe partial int distill_torch_version(byte* buf, int capacity);
}
