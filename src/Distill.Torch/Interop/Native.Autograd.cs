using System.Runtime.InteropServices;

namespace Distill.Torch.Interop;

// autograd.cpp
internal static partial class Native
{
    [LibraryImport(Lib)] internal static partial int distill_backward(TensorHandle t, TensorHandle grad, [MarshalAs(UnmanagedType.U1)] bool retainGraph, [MarshalAs(UnmanagedType.U1)] bool createGraph);
    [LibraryImport(Lib)] internal static partial int distill_grad(TensorHandle t, out IntPtr grad);
    [LibraryImport(Lib)] internal static partial int distill_set_grad(TensorHandle t, TensorHandle g);
    [LibraryImport(Lib)] internal static partial int distill_zero_grad(TensorHandle t, [MarshalAs(UnmanagedType.U1)] bool setToNone);
    [LibraryImport(Lib)] internal static partial int distill_requires_grad(TensorHandle t);
    [LibraryImport(Lib)] internal static partial int distill_set_requires_grad(TensorHandle t, [MarshalAs(UnmanagedType.U1)] bool value);
    [LibraryImport(Lib)] internal static partial int distill_is_leaf(TensorHandle t);
    [LibraryImport(Lib)] internal static partial int distill_retain_grad(TensorHandle t);
    [LibraryImport(Lib)] internal static partial int distill_grad_enabled();
    [LibraryImport(Lib)] internal static partial int distill_set_grad_enabled([MarshalAs(UnmanagedType.U1)] bool enabled);
    [LibraryImport(Lib)] internal static partial IntPtr distill_inference_mode_enter([MarshalAs(UnmanagedType.U1)] bool enabled);
    [LibraryImport(Lib)] internal static partial int distill_inference_mode_exit(IntPtr guard);
    [LibraryImport(Lib)] internal static partial int distill_is_inference(TensorHandle t);
    [LibraryImport(Lib)] internal static partial int distill_is_inference_mode_enabled();
}
