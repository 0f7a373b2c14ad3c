using Distill.Torch.Interop;

namespace Distill.Torch;

public sealed partial class Tensor
{
    public bool RequiresGrad
    {
        get => Native.Check(Native.distill_requires_grad(Handle)) == 1;
        set => Native.Check(Native.distill_set_requires_grad(Handle, value));
    }

    public Tensor RequiresGrad_(bool value = true)
    {
        RequiresGrad = value;
        return this;
    }

    public bool IsLeaf => Native.Check(Native.distill_is_leaf(Handle)) == 1;

    public bool IsInference => Native.Check(Native.distill_is_inference(Handle)) == 1;

    /// <summary>The accumulated gradient as a new handle, or null when none has been computed.</summary>
    public Tensor? Grad
    {
        get
        {
            Native.Check(Native.distill_grad(Handle, out var g));
            return g == IntPtr.Zero ? null : FromRaw(g);
        }
        set => Native.Check(Native.distill_set_grad(Handle, value?.Handle ?? TensorHandle.Null));
    }

    public void Backward(Tensor? gradient = null, bool retainGraph = false, bool createGraph = false) =>
        Native.Check(Native.distill_backward(Handle, gradient?.Handle ?? TensorHandle.Null, retainGraph, createGraph));

    public void RetainGrad() => Native.Check(Native.distill_retain_grad(Handle));

    /// <summary>Clears the gradient; by default drops it (PyTorch's set_to_none), otherwise zeroes it in place.</summary>
    public void ZeroGrad(bool setToNone = true) => Native.Check(Native.distill_zero_grad(Handle, setToNone));
}

/// <summary>Grad-mode and inference-mode scopes (per thread), as PyTorch's no_grad and inference_mode.</summary>
public static class Autograd
{
    public static bool IsGradEnabled => Native.Check(Native.distill_grad_enabled()) == 1;

    public static bool IsInferenceModeEnabled => Native.Check(Native.distill_is_inference_mode_enabled()) == 1;

    /// <summary>Disables gradient tracking until disposed.</summary>
    public static GradModeScope NoGrad() => new(false);

    /// <summary>Enables gradient tracking until disposed (inside a no-grad region).</summary>
    public static GradModeScope EnableGrad() => new(true);

    /// <summary>
    /// Inference mode: no autograd bookkeeping at all (no version counters, no views tracking), the cheapest way
    /// to run frozen networks. Tensors made inside cannot later join autograd.
    /// </summary>
    public static InferenceModeScope InferenceMode(bool enabled = true) => new(enabled);
}

public readonly struct GradModeScope : IDisposable
{
    private readonly bool _previous;

    internal GradModeScope(bool enabled) => _previous = Native.Check(Native.distill_set_grad_enabled(enabled)) == 1;

    public void Dispose() => Native.Check(Native.distill_set_grad_enabled(_previous));
}

public sealed class InferenceModeScope : IDisposable
{
    private IntPtr _guard;
    private readonly int _thread = Environment.CurrentManagedThreadId;

    internal InferenceModeScope(bool enabled) => _guard = Native.CheckPtr(Native.distill_inference_mode_enter(enabled));

    public void Dispose()
    {
        if (_guard == IntPtr.Zero) return;
        if (Environment.CurrentManagedThreadId != _thread)
            throw new InvalidOperationException("an inference-mode scope must be closed on the thread that opened it");
        var g = _guard;
        _guard = IntPtr.Zero;
        Native.Check(Native.distill_inference_mode_exit(g));
    }
}
