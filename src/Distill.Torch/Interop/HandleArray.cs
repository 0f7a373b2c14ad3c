using System.Buffers;
using System.Runtime.InteropServices;

namespace Distill.Torch.Interop;

/// <summary>
/// Raw pointers of several tensors for one native call (cat, stack, optimizer steps). Each handle is
/// AddRef'ed for the duration, so a concurrent Dispose cannot free a tensor the native side is reading.
/// </summary>
internal ref struct HandleArray
{
    private readonly SafeHandle?[] _owners;
    private readonly int _count;
    public readonly IntPtr[] Pointers;

    public HandleArray(ReadOnlySpan<Tensor> tensors) : this(tensors.Length)
    {
        for (int i = 0; i < tensors.Length; i++) Set(i, tensors[i]);
    }

    public HandleArray(int count)
    {
        _count = count;
        Pointers = ArrayPool<IntPtr>.Shared.Rent(Math.Max(count, 1));
        _owners = ArrayPool<SafeHandle?>.Shared.Rent(Math.Max(count, 1));
        Array.Clear(Pointers, 0, Pointers.Length);
        Array.Clear(_owners, 0, _owners.Length);
    }

    public void Set(int i, Tensor? t)
    {
        if (t is null) return;
        var h = t.Handle;
        bool ok = false;
        h.DangerousAddRef(ref ok);
        _owners[i] = h;
        Pointers[i] = h.DangerousGetHandle();
    }

    public readonly int Length => _count;

    public void Dispose()
    {
        for (int i = 0; i < _count; i++)
        {
            _owners[i]?.DangerousRelease();
            _owners[i] = null;
        }
        ArrayPool<IntPtr>.Shared.Return(Pointers);
        ArrayPool<SafeHandle?>.Shared.Return(_owners);
    }
}
