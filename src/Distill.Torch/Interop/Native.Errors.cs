using System.Runtime.InteropServices;

namespace Distill.Torch.Interop;

// errors.cpp
internal static partial class Native
{
    [LibraryImport(Lib)] internal static partial IntPtr distill_last_error();
    [LibraryImport(Lib)] internal static partial void distill_clear_error();
}
