using System.Runtime.InteropServices;

namespace Distill.Torch.Interop;

// threads.cpp
internal static partial class Native
{
    [LibraryImport(Lib)] internal static partial int distill_set_num_threads(int n);
    [LibraryImport(Lib)] internal static partial int distill_get_num_threads();
    [LibraryImport(Lib)] internal static partial int distill_set_num_interop_threads(int n);
}
