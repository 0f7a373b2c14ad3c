using Distill.Torch.Interop;

namespace Distill.Torch;

/// <summary>
/// Automatic mixed precision (torch.autocast): inside the scope, matrix products and convolutions on
/// <see cref="DeviceType"/> run in a lower precision while parameters, and the ops autocast keeps in float32 (losses,
/// softmax, normalisation), stay float32. The state is per thread; run backward after leaving the scope.
/// </summary>
public sealed class Autocast : IDisposable
{
    private readonly DeviceType _device;
    private readonly int _previous;
    private bool _disposed;

    /// <param name="dtype">BFloat16 (the CPU's only choice) or Float16 (CUDA).</param>
    public Autocast(DeviceType device, DType dtype)
    {
        _device = device;
        _previous = Native.Check(Native.distill_autocast_set((int)device, 1, (int)dtype));
    }

    public static bool IsEnabled(DeviceType device) => Native.Check(Native.distill_autocast_enabled((int)device)) == 1;

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Native.Check(Native.distill_autocast_set((int)_device, _previous & 1, _previous >> 1));
    }
}
