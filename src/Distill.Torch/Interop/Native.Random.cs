using System.Runtime.InteropServices;

namespace Distill.Torch.Interop;

// random.cpp
internal static partial class Native
{
    [LibraryImport(Lib)] internal static partial int distill_manual_seed(ulong seed);
    [LibraryImport(Lib)] internal static partial GeneratorHandle distill_generator_new(ulong seed);
    [LibraryImport(Lib)] internal static partial void distill_generator_free(IntPtr g);
    [LibraryImport(Lib)] internal static partial TensorHandle distill_generator_get_state(GeneratorHandle g);
    [LibraryImport(Lib)] internal static partial int distill_generator_set_state(GeneratorHandle g, TensorHandle state);
    [LibraryImport(Lib)] internal static partial int distill_generator_manual_seed(GeneratorHandle g, ulong seed);
    [LibraryImport(Lib)] internal static partial TensorHandle distill_default_generator_get_state();
    [LibraryImport(Lib)] internal static partial int distill_default_generator_set_state(TensorHandle state);
    [LibraryImport(Lib)] internal static partial int distill_set_deterministic_algorithms(int enabled, int warnOnly);
    [LibraryImport(Lib)] internal static partial int distill_deterministic_algorithms();
    [LibraryImport(Lib)] internal static partial int distill_deterministic_algorithms_warn_only();
}
