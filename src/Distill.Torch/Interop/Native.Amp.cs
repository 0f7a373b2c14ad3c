using System.Runtime.InteropServices;

namespace Distill.Torch.Interop;

// amp.cpp
internal static partial class Native
{
    [LibraryImport(Lib)] internal static partial int distill_autocast_set(int deviceType, int enabled, int dtype);
    [LibraryImport(Lib)] internal static partial int distill_autocast_enabled(int deviceType);
}
