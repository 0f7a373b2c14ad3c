using System.Runtime.InteropServices;

namespace Distill.Torch.Interop;

// optim.cpp
internal static unsafe partial class Native
{
    [LibraryImport(Lib)] internal static partial int distill_sgd_step(IntPtr* pars, IntPtr* momentumBufs, int n, double lr, double momentum, double dampening, double weightDecay, [MarshalAs(UnmanagedType.U1)] bool nesterov, [MarshalAs(UnmanagedType.U1)] bool maximize);
    [LibraryImport(Lib)] internal static partial int distill_adam_step(IntPtr* pars, IntPtr* expAvg, IntPtr* expAvgSq, IntPtr* maxExpAvgSq, long* steps, int n, double lr, double beta1, double beta2, double eps, double weightDecay, [MarshalAs(UnmanagedType.U1)] bool decoupled, [MarshalAs(UnmanagedType.U1)] bool amsgrad, [MarshalAs(UnmanagedType.U1)] bool maximize);
    [LibraryImport(Lib)] internal static partial int distill_clip_grad_norm(IntPtr* pars, int n, double maxNorm, double normType, out double totalNorm);
    [LibraryImport(Lib)] internal static partial int distill_ema_update(IntPtr* avg, IntPtr* src, int n, double momentum);
    [LibraryImport(Lib)] internal static partial int distill_grads_finite(IntPtr* pars, int n);
}
