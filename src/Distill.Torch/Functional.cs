using Distill.Torch.Interop;

namespace Distill.Torch;

public enum InterpolationMode { Nearest = 0, Bilinear = 1, Bicubic = 2 }
public enum PaddingMode { Constant = 0, Reflect = 1, Replicate = 2 }
public enum GridSampleMode { Bilinear = 0, Nearest = 1 }
public enum GridSamplePadding { Zeros = 0, Border = 1, Reflection = 2 }

/// <summary>torch.nn.functional: stateless layers, activations and losses.</summary>
public static unsafe class Functional
{
    private static TensorHandle H(Tensor? t) => t?.Handle ?? TensorHandle.Null;

    public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias = null, (long H, long W)? stride = null,
        (long H, long W)? padding = null, (long H, long W)? dilation = null, long groups = 1)
    {
        var s = stride ?? (1, 1);
        var p = padding ?? (0, 0);
        var d = dilation ?? (1, 1);
        long* sp = stackalloc long[] { s.H, s.W };
        long* pp = stackalloc long[] { p.H, p.W };
        long* dp = stackalloc long[] { d.H, d.W };
        var y = new Tensor(Native.distill_conv2d(input.Handle, weight.Handle, H(bias), sp, pp, dp, groups));
        if (FlopCounter.Active)
        {
            var w = weight.Shape;
            FlopCounter.Add(y.NumEl * w[1] * w[2] * w[3]);
        }
        return y;
    }

    public static Tensor ConvTranspose2d(Tensor input, Tensor weight, Tensor? bias = null, (long H, long W)? stride = null,
        (long H, long W)? padding = null, (long H, long W)? outputPadding = null, long groups = 1, (long H, long W)? dilation = null)
    {
        var s = stride ?? (1, 1);
        var p = padding ?? (0, 0);
        var o = outputPadding ?? (0, 0);
        var d = dilation ?? (1, 1);
        long* sp = stackalloc long[] { s.H, s.W };
        long* pp = stackalloc long[] { p.H, p.W };
        long* op = stackalloc long[] { o.H, o.W };
        long* dp = stackalloc long[] { d.H, d.W };
        var y = new Tensor(Native.distill_conv_transpose2d(input.Handle, weight.Handle, H(bias), sp, pp, op, groups, dp));
        if (FlopCounter.Active)
        {
            var w = weight.Shape;
            FlopCounter.Add(input.NumEl * w[1] * w[2] * w[3]);
        }
        return y;
    }

    /// <summary>Batch norm; in training mode the running statistics (when given) are updated in place.</summary>
    public static Tensor BatchNorm(Tensor input, Tensor? runningMean, Tensor? runningVar, Tensor? weight = null, Tensor? bias = null,
        bool training = false, double momentum = 0.1, double eps = 1e-5) =>
        new(Native.distill_batch_norm(input.Handle, H(weight), H(bias), H(runningMean), H(runningVar), training, momentum, eps));

    public static Tensor LayerNorm(Tensor input, long[] normalizedShape, Tensor? weight = null, Tensor? bias = null, double eps = 1e-5)
    {
        fixed (long* p = normalizedShape)
            return new(Native.distill_layer_norm(input.Handle, p, normalizedShape.Length, H(weight), H(bias), eps));
    }

    public static Tensor GroupNorm(Tensor input, long groups, Tensor? weight = null, Tensor? bias = null, double eps = 1e-5) =>
        new(Native.distill_group_norm(input.Handle, groups, H(weight), H(bias), eps));

    public static Tensor Linear(Tensor input, Tensor weight, Tensor? bias = null)
    {
        var y = new Tensor(Native.distill_linear(input.Handle, weight.Handle, H(bias)));
        if (FlopCounter.Active) FlopCounter.Add(y.NumEl * weight.Size(1));
        return y;
    }

    public static Tensor MaxPool2d(Tensor input, (long H, long W) kernel, (long H, long W)? stride = null,
        (long H, long W)? padding = null, (long H, long W)? dilation = null, bool ceilMode = false)
    {
        var s = stride ?? kernel;
        var p = padding ?? (0, 0);
        var d = dilation ?? (1, 1);
        long* kp = stackalloc long[] { kernel.H, kernel.W };
        long* sp = stackalloc long[] { s.H, s.W };
        long* pp = stackalloc long[] { p.H, p.W };
        long* dp = stackalloc long[] { d.H, d.W };
        return new(Native.distill_max_pool2d(input.Handle, kp, sp, pp, dp, ceilMode));
    }

    public static Tensor AvgPool2d(Tensor input, (long H, long W) kernel, (long H, long W)? stride = null,
        (long H, long W)? padding = null, bool ceilMode = false, bool countIncludePad = true)
    {
        var s = stride ?? kernel;
        var p = padding ?? (0, 0);
        long* kp = stackalloc long[] { kernel.H, kernel.W };
        long* sp = stackalloc long[] { s.H, s.W };
        long* pp = stackalloc long[] { p.H, p.W };
        return new(Native.distill_avg_pool2d(input.Handle, kp, sp, pp, ceilMode, countIncludePad));
    }

    public static Tensor AdaptiveAvgPool2d(Tensor input, (long H, long W) outputSize)
    {
        long* p = stackalloc long[] { outputSize.H, outputSize.W };
        return new(Native.distill_adaptive_avg_pool2d(input.Handle, p));
    }

    /// <summary>Resizes the last two dimensions to <paramref name="size"/>.</summary>
    public static Tensor Interpolate(Tensor input, (long H, long W) size, InterpolationMode mode = InterpolationMode.Nearest, bool alignCorners = false)
    {
        long* p = stackalloc long[] { size.H, size.W };
        return new(Native.distill_interpolate(input.Handle, p, 0, 0, (int)mode, alignCorners));
    }

    /// <summary>Resizes the last two dimensions by scale factors.</summary>
    public static Tensor Interpolate(Tensor input, double scaleH, double scaleW, InterpolationMode mode = InterpolationMode.Nearest, bool alignCorners = false) =>
        new(Native.distill_interpolate(input.Handle, null, scaleH, scaleW, (int)mode, alignCorners));

    public static Tensor GridSample(Tensor input, Tensor grid, GridSampleMode mode = GridSampleMode.Bilinear,
        GridSamplePadding padding = GridSamplePadding.Zeros, bool alignCorners = false) =>
        new(Native.distill_grid_sample(input.Handle, grid.Handle, (int)mode, (int)padding, alignCorners));

    public static Tensor AffineGrid(Tensor theta, long[] size, bool alignCorners = false)
    {
        fixed (long* p = size) return new(Native.distill_affine_grid(theta.Handle, p, size.Length, alignCorners));
    }

    /// <summary>Pads trailing dimensions; pads are (left, right, top, bottom, ...) as in torch.nn.functional.pad.</summary>
    public static Tensor Pad(Tensor input, long[] pads, PaddingMode mode = PaddingMode.Constant, double value = 0)
    {
        fixed (long* p = pads) return new(Native.distill_pad(input.Handle, p, pads.Length, (int)mode, value));
    }

    public static Tensor Dropout(Tensor input, double p = 0.5, bool training = true) => new(Native.distill_dropout(input.Handle, p, training));

    public static Tensor Softmax(Tensor input, long dim, DType? dtype = null) =>
        new(Native.distill_softmax(input.Handle, dim, dtype is null ? -1 : (int)dtype));

    public static Tensor LogSoftmax(Tensor input, long dim, DType? dtype = null) =>
        new(Native.distill_log_softmax(input.Handle, dim, dtype is null ? -1 : (int)dtype));

    public static Tensor Relu(Tensor x) => x.Relu();
    public static Tensor Silu(Tensor x) => x.Silu();
    public static Tensor Gelu(Tensor x, bool tanhApproximation = false) => x.Gelu(tanhApproximation);
    public static Tensor Hardsigmoid(Tensor x) => x.Hardsigmoid();
    public static Tensor Sigmoid(Tensor x) => x.Sigmoid();
    public static Tensor Hardtanh(Tensor x, double min = -1, double max = 1) => new(Native.distill_hardtanh(x.Handle, min, max));
    public static Tensor LeakyRelu(Tensor x, double negativeSlope = 0.01) => new(Native.distill_leaky_relu(x.Handle, negativeSlope));
    public static Tensor Elu(Tensor x, double alpha = 1) => new(Native.distill_elu(x.Handle, alpha));

    public static Tensor MseLoss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean) =>
        new(Native.distill_mse_loss(input.Handle, target.Handle, (int)reduction));

    public static Tensor L1Loss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean) =>
        new(Native.distill_l1_loss(input.Handle, target.Handle, (int)reduction));

    public static Tensor SmoothL1Loss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean, double beta = 1.0) =>
        new(Native.distill_smooth_l1_loss(input.Handle, target.Handle, (int)reduction, beta));

    /// <summary>
    /// KL divergence with PyTorch's semantics: <paramref name="input"/> holds log-probabilities, <paramref name="target"/>
    /// probabilities (or log-probabilities when <paramref name="logTarget"/>); pointwise target * (log target - input).
    /// </summary>
    public static Tensor KlDiv(Tensor input, Tensor target, Reduction reduction = Reduction.Mean, bool logTarget = false) =>
        new(Native.distill_kl_div(input.Handle, target.Handle, (int)reduction, logTarget));

    public static Tensor CrossEntropy(Tensor input, Tensor target, Tensor? weight = null, Reduction reduction = Reduction.Mean,
        long ignoreIndex = -100, double labelSmoothing = 0) =>
        new(Native.distill_cross_entropy(input.Handle, target.Handle, H(weight), (int)reduction, ignoreIndex, labelSmoothing));

    public static Tensor NllLoss(Tensor input, Tensor target, Tensor? weight = null, Reduction reduction = Reduction.Mean, long ignoreIndex = -100) =>
        new(Native.distill_nll_loss(input.Handle, target.Handle, H(weight), (int)reduction, ignoreIndex));

    public static Tensor BinaryCrossEntropyWithLogits(Tensor input, Tensor target, Tensor? weight = null, Tensor? posWeight = null,
        Reduction reduction = Reduction.Mean) =>
        new(Native.distill_bce_with_logits(input.Handle, target.Handle, H(weight), H(posWeight), (int)reduction));
}
