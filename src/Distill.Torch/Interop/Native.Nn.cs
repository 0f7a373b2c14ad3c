using System.Runtime.InteropServices;

namespace Distill.Torch.Interop;

// nn.cpp
internal static unsafe partial class Native
{
    [LibraryImport(Lib)] internal static partial TensorHandle distill_conv2d(TensorHandle x, TensorHandle w, TensorHandle b, long* stride, long* padding, long* dilation, long groups);
    [LibraryImport(Lib)] internal static partial TensorHandle distill_conv_transpose2d(TensorHandle x, TensorHandle w, TensorHandle b, long* stride, long* padding, long* outputPadding, long groups, long* dilation);
    [LibraryImport(Lib)] internal static partial TensorHandle distill_batch_norm(TensorHandle x, TensorHandle w, TensorHandle b, TensorHandle rm, TensorHandle rv, [MarshalAs(UnmanagedType.U1)] bool training, double momentum, double eps);
    [LibraryImport(Lib)] internal static partial TensorHandle distill_layer_norm(TensorHandle x, long* shape, int n, TensorHandle w, TensorHandle b, double eps);
    [LibraryImport(Lib)] internal static partial TensorHandle distill_group_norm(TensorHandle x, long groups, TensorHandle w, TensorHandle b, double eps);
    [LibraryImport(Lib)] internal static partial TensorHandle distill_linear(TensorHandle x, TensorHandle w, TensorHandle b);
    [LibraryImport(Lib)] internal static partial TensorHandle distill_max_pool2d(TensorHandle x, long* k, long* s, long* p, long* d, [MarshalAs(UnmanagedType.U1)] bool ceilMode);
    [LibraryImport(Lib)] internal static partial TensorHandle distill_avg_pool2d(TensorHandle x, long* k, long* s, long* p, [MarshalAs(UnmanagedType.U1)] bool ceilMode, [MarshalAs(UnmanagedType.U1)] bool countIncludePad);
    [LibraryImport(Lib)] internal static partial TensorHandle distill_adaptive_avg_pool2d(TensorHandle x, long* size);
    [LibraryImport(Lib)] internal static partial TensorHandle distill_interpolate(TensorHandle x, long* size, double scaleH, double scaleW, int mode, [MarshalAs(UnmanagedType.U1)] bool alignCorners);
    [LibraryImport(Lib)] internal static partial TensorHandle distill_grid_sample(TensorHandle x, TensorHandle grid, int mode, int padding, [MarshalAs(UnmanagedType.U1)] bool alignCorners);
    [LibraryImport(Lib)] internal static partial TensorHandle distill_affine_grid(TensorHandle theta, long* size, int n, [MarshalAs(UnmanagedType.U1)] bool alignCorners);
    [LibraryImport(Lib)] internal static partial TensorHandle distill_pad(TensorHandle x, long* pads, int n, int mode, double value);
    [LibraryImport(Lib)] internal static partial TensorHandle distill_dropout(TensorHandle x, double p, [MarshalAs(UnmanagedType.U1)] bool train);
    [LibraryImport(Lib)] internal static partial TensorHandle distill_softmax(TensorHandle x, long dim, int dtype);
    [LibraryImport(Lib)] internal static partial TensorHandle distill_log_softmax(TensorHandle x, long dim, int dtype);
    [LibraryImport(Lib)] internal static partial TensorHandle distill_hardtanh(TensorHandle x, double lo, double hi);
    [LibraryImport(Lib)] internal static partial TensorHandle distill_leaky_relu(TensorHandle x, double slope);
    [LibraryImport(Lib)] internal static partial TensorHandle distill_elu(TensorHandle x, double alpha);
    [LibraryImport(Lib)] internal static partial TensorHandle distill_mse_loss(TensorHandle a, TensorHandle b, int reduction);
    [LibraryImport(Lib)] internal static partial TensorHandle distill_l1_loss(TensorHandle a, TensorHandle b, int reduction);
    [LibraryImport(Lib)] internal static partial TensorHandle distill_smooth_l1_loss(TensorHandle a, TensorHandle b, int reduction, double beta);
    [LibraryImport(Lib)] internal static partial TensorHandle distill_kl_div(TensorHandle input, TensorHandle target, int reduction, [MarshalAs(UnmanagedType.U1)] bool logTarget);
    [LibraryImport(Lib)] internal static partial TensorHandle distill_cross_entropy(TensorHandle input, TensorHandle target, TensorHandle weight, int reduction, long ignoreIndex, double labelSmoothing);
    [LibraryImport(Lib)] internal static partial TensorHandle distill_nll_loss(TensorHandle input, TensorHandle target, TensorHandle weight, int reduction, long ignoreIndex);
    [LibraryImport(Lib)] internal static partial TensorHandle distill_bce_with_logits(TensorHandle input, TensorHandle target, TensorHandle weight, TensorHandle posWeight, int reduction);
}
