using System.Runtime.InteropServices;
using Distill.Torch.Interop;

namespace Distill.Torch;

/// <summary>
/// A libtorch tensor. Every op returns a new <see cref="Tensor"/> that the caller owns: dispose it, or let the
/// enclosing <see cref="DisposeScope"/> do so. A disposed tensor throws <see cref="ObjectDisposedException"/>.
/// </summary>
public sealed partial class Tensor : IDisposable
{
    private TensorHandle? _handle;
    internal DisposeScope? OwnerScope;

    internal Tensor(TensorHandle handle)
    {
        _handle = Native.Check(handle);
        long bytes = Native.distill_tensor_nbytes_raw(handle.DangerousGetHandle());
        if (bytes >= MemoryPressure.MinBytes)
        {
            handle.Pressure = bytes;
            MemoryPressure.Add(bytes);
        }
        DisposeScope.Register(this);
    }

    internal static Tensor FromRaw(IntPtr raw) =>
        raw == IntPtr.Zero ? throw Native.TakeError() : new Tensor(TensorHandle.FromRaw(raw));

    internal TensorHandle Handle => _handle ?? throw new ObjectDisposedException(nameof(Tensor), "the tensor has been disposed");

    public bool IsDisposed => _handle is null;

    public void Dispose()
    {
        var h = _handle;
        _handle = null;
        h?.Dispose();
    }

    // ---- metadata -------------------------------------------------------------------------------------------

    public unsafe long[] Shape
    {
        get
        {
            var h = Handle;
            int n = Native.distill_tensor_ndim(h);
            Native.Check(n);
            var shape = new long[n];
            fixed (long* p = shape) Native.Check(Native.distill_tensor_shape(h, p));
            return shape;
        }
    }

    public unsafe long[] Strides
    {
        get
        {
            var h = Handle;
            int n = Native.Check(Native.distill_tensor_ndim(h));
            var s = new long[n];
            fixed (long* p = s) Native.Check(Native.distill_tensor_strides(h, p));
            return s;
        }
    }

    public int Dim => Native.Check(Native.distill_tensor_ndim(Handle));

    /// <summary>Size of one dimension (negative counts from the end).</summary>
    public long Size(int dim)
    {
        var s = Shape;
        return s[dim < 0 ? dim + s.Length : dim];
    }

    public long NumEl => Native.Check(Native.distill_tensor_numel(Handle));

    public DType DType => (DType)Native.Check(Native.distill_tensor_dtype(Handle));

    public Device Device
    {
        get
        {
            int type = Native.Check(Native.distill_tensor_device(Handle, out int idx));
            return new Device((DeviceType)type, idx);
        }
    }

    public int ElementSize => Native.Check(Native.distill_tensor_element_size(Handle));

    public long NBytes => Native.Check(Native.distill_tensor_nbytes(Handle));

    public bool IsContiguous(MemoryFormat format = MemoryFormat.Contiguous) =>
        Native.Check(Native.distill_tensor_is_contiguous(Handle, (int)format)) == 1;

    /// <summary>
    /// Address of the first element (PyTorch's data_ptr) of a contiguous CPU tensor, for handing its memory to another
    /// runtime without a copy. Valid only while this tensor is alive and not resized.
    /// </summary>
    public IntPtr DataPtr() => Native.CheckPtr(Native.distill_data_ptr(Handle));

    /// <summary>True when both handles refer to the same tensor (same storage view and autograd identity).</summary>
    public bool IsSame(Tensor other) => Native.Check(Native.distill_tensor_same(Handle, other.Handle)) == 1;

    public override string ToString()
    {
        if (IsDisposed) return "Tensor(disposed)";
        return $"Tensor(shape=[{string.Join(", ", Shape)}], dtype={DType}, device={Device})";
    }

    // ---- data in and out ------------------------------------------------------------------------------------

    public double ItemDouble()
    {
        Native.Check(Native.distill_item_double(Handle, out var v));
        return v;
    }

    public long ItemLong()
    {
        Native.Check(Native.distill_item_long(Handle, out var v));
        return v;
    }

    public float ItemFloat() => (float)ItemDouble();

    public T Item<T>() where T : unmanaged
    {
        if (typeof(T) == typeof(long) || typeof(T) == typeof(int) || typeof(T) == typeof(bool) || typeof(T) == typeof(byte))
        {
            long v = ItemLong();
            return typeof(T) == typeof(long) ? (T)(object)v : typeof(T) == typeof(int) ? (T)(object)(int)v :
                typeof(T) == typeof(bool) ? (T)(object)(v != 0) : (T)(object)(byte)v;
        }
        double d = ItemDouble();
        return typeof(T) == typeof(double) ? (T)(object)d : typeof(T) == typeof(float) ? (T)(object)(float)d :
            throw new NotSupportedException($"Item<{typeof(T).Name}>");
    }

    /// <summary>Copies the elements in C order into <paramref name="destination"/>; the dtype must match T.</summary>
    public unsafe void CopyTo<T>(Span<T> destination) where T : unmanaged
    {
        CheckElementType<T>();
        fixed (T* p = destination)
            Native.Check(Native.distill_copy_to(Handle, p, (long)destination.Length * sizeof(T)));
    }

    public T[] ToArray<T>() where T : unmanaged
    {
        var arr = new T[checked((int)NumEl)];
        CopyTo<T>(arr);
        return arr;
    }

    /// <summary>Copies elements from managed memory into this tensor (same element count and dtype).</summary>
    public unsafe void CopyFrom<T>(ReadOnlySpan<T> source) where T : unmanaged
    {
        using var src = torch.FromSpan(source, Shape);
        Copy_(src);
    }

    private void CheckElementType<T>() where T : unmanaged
    {
        var want = DTypeExtensions.Of<T>();
        var have = DType;
        if (want != have) throw new InvalidOperationException($"tensor dtype is {have}, not {want} ({typeof(T).Name})");
    }

    // ---- conversion -----------------------------------------------------------------------------------------

    public Tensor To(DType dtype) => new(Native.distill_to_dtype(Handle, (int)dtype));

    public Tensor To(Device device, bool nonBlocking = false) =>
        new(Native.distill_to(Handle, (int)DType, (int)device.Type, device.Index, nonBlocking, false));

    public Tensor To(DType dtype, Device device, bool nonBlocking = false, bool copy = false) =>
        new(Native.distill_to(Handle, (int)dtype, (int)device.Type, device.Index, nonBlocking, copy));

    public Tensor Cpu() => To(Device.Cpu);

    public Tensor Float() => To(DType.Float32);

    public Tensor Double() => To(DType.Float64);

    public Tensor Long() => To(DType.Int64);

    public Tensor Bool() => To(DType.Bool);

    public Tensor Contiguous(MemoryFormat format = MemoryFormat.Contiguous) =>
        new(Native.distill_contiguous(Handle, (int)format));

    public Tensor Clone() => new(Native.distill_clone(Handle));

    public Tensor Detach() => new(Native.distill_detach(Handle));

    /// <summary>A second handle on this same tensor, owned separately (for example by a module or an optimizer).</summary>
    public Tensor Alias() => new(Native.distill_tensor_alias(Handle));

    public Tensor Copy_(Tensor src)
    {
        Native.Check(Native.distill_copy_(Handle, src.Handle));
        return this;
    }

    public Tensor Fill_(double value)
    {
        Native.Check(Native.distill_fill_(Handle, value));
        return this;
    }

    public Tensor Zero_()
    {
        Native.Check(Native.distill_zero_(Handle));
        return this;
    }

    /// <summary>Swaps the data behind this tensor (PyTorch's <c>tensor.data = other</c>).</summary>
    public void SetData(Tensor data) => Native.Check(Native.distill_set_data(Handle, data.Handle));

    public Tensor Uniform_(double from = 0, double to = 1, Generator? generator = null)
    {
        Native.Check(Native.distill_uniform_(Handle, from, to, generator?.Handle ?? GeneratorHandle.Null));
        return this;
    }

    public Tensor Normal_(double mean = 0, double std = 1, Generator? generator = null)
    {
        Native.Check(Native.distill_normal_(Handle, mean, std, generator?.Handle ?? GeneratorHandle.Null));
        return this;
    }

    public Tensor Bernoulli_(double p, Generator? generator = null)
    {
        Native.Check(Native.distill_bernoulli_(Handle, p, generator?.Handle ?? GeneratorHandle.Null));
        return this;
    }

    // ---- scopes ---------------------------------------------------------------------------------------------

    /// <summary>Removes this tensor from any dispose scope: the caller now owns it for good.</summary>
    public Tensor DetachFromDisposeScope()
    {
        OwnerScope = null;
        return this;
    }

    /// <summary>Hands this tensor to the scope enclosing its current one (or to nobody at the outermost).</summary>
    public Tensor MoveToOuterDisposeScope()
    {
        OwnerScope = OwnerScope?.Parent;
        OwnerScope?.Adopt(this);
        return this;
    }
}
