using Distill.Torch.Interop;

namespace Distill.Torch;

/// <summary>Tensor creation and process-wide settings, named as PyTorch's torch namespace (torch.Zeros, torch.Cat, ...).</summary>
#pragma warning disable CS8981 // lower-case on purpose: reads like PyTorch (torch.Zeros, torch.Cat)
public static unsafe class torch
{
    private static GeneratorHandle G(Generator? g) => g?.Handle ?? GeneratorHandle.Null;

    public static Tensor Empty(long[] shape, DType dtype = DType.Float32, Device? device = null, bool requiresGrad = false)
    {
        var d = device ?? Device.Cpu;
        fixed (long* p = shape) return new(Native.distill_empty(p, shape.Length, (int)dtype, (int)d.Type, d.Index, requiresGrad));
    }

    public static Tensor Zeros(long[] shape, DType dtype = DType.Float32, Device? device = null, bool requiresGrad = false)
    {
        var d = device ?? Device.Cpu;
        fixed (long* p = shape) return new(Native.distill_zeros(p, shape.Length, (int)dtype, (int)d.Type, d.Index, requiresGrad));
    }

    public static Tensor Ones(long[] shape, DType dtype = DType.Float32, Device? device = null, bool requiresGrad = false)
    {
        var d = device ?? Device.Cpu;
        fixed (long* p = shape) return new(Native.distill_ones(p, shape.Length, (int)dtype, (int)d.Type, d.Index, requiresGrad));
    }

    public static Tensor Full(long[] shape, double value, DType dtype = DType.Float32, Device? device = null, bool requiresGrad = false)
    {
        var d = device ?? Device.Cpu;
        fixed (long* p = shape) return new(Native.distill_full(p, shape.Length, value, (int)dtype, (int)d.Type, d.Index, requiresGrad));
    }

    /// <summary>Zeros shaped like <paramref name="t"/>, in its memory format (PyTorch's preserve_format for
    /// channels-last), so optimizer state beside a channels-last weight is channels-last too.</summary>
    public static Tensor ZerosLike(Tensor t) => PreserveFormat(t, Zeros(t.Shape, t.DType, t.Device));
    public static Tensor OnesLike(Tensor t) => PreserveFormat(t, Ones(t.Shape, t.DType, t.Device));
    public static Tensor FullLike(Tensor t, double value) => PreserveFormat(t, Full(t.Shape, value, t.DType, t.Device));

    private static Tensor PreserveFormat(Tensor like, Tensor made)
    {
        if (like.Dim != 4 || like.IsContiguous() || !like.IsContiguous(MemoryFormat.ChannelsLast)) return made;
        var converted = made.Contiguous(MemoryFormat.ChannelsLast);
        made.Dispose();
        return converted;
    }

    /// <summary>[start, end) in steps; int64 unless a dtype is given.</summary>
    public static Tensor Arange(double start, double end, double step = 1, DType dtype = DType.Int64, Device? device = null)
    {
        var d = device ?? Device.Cpu;
        return new(Native.distill_arange(start, end, step, (int)dtype, (int)d.Type, d.Index));
    }

    public static Tensor Arange(long end, DType dtype = DType.Int64, Device? device = null) => Arange(0, end, 1, dtype, device);

    public static Tensor Linspace(double start, double end, long steps, DType dtype = DType.Float32, Device? device = null)
    {
        var d = device ?? Device.Cpu;
        return new(Native.distill_linspace(start, end, steps, (int)dtype, (int)d.Type, d.Index));
    }

    public static Tensor Eye(long n, DType dtype = DType.Float32, Device? device = null)
    {
        var d = device ?? Device.Cpu;
        return new(Native.distill_eye(n, (int)dtype, (int)d.Type, d.Index));
    }

    public static Tensor Rand(long[] shape, Generator? generator = null, DType dtype = DType.Float32, Device? device = null)
    {
        var d = device ?? Device.Cpu;
        fixed (long* p = shape) return new(Native.distill_rand(p, shape.Length, G(generator), (int)dtype, (int)d.Type, d.Index));
    }

    public static Tensor Randn(long[] shape, Generator? generator = null, DType dtype = DType.Float32, Device? device = null)
    {
        var d = device ?? Device.Cpu;
        fixed (long* p = shape) return new(Native.distill_randn(p, shape.Length, G(generator), (int)dtype, (int)d.Type, d.Index));
    }

    public static Tensor RandInt(long low, long high, long[] shape, Generator? generator = null, DType dtype = DType.Int64, Device? device = null)
    {
        var d = device ?? Device.Cpu;
        fixed (long* p = shape) return new(Native.distill_randint(low, high, p, shape.Length, G(generator), (int)dtype, (int)d.Type, d.Index));
    }

    public static Tensor RandPerm(long n, Generator? generator = null, Device? device = null)
    {
        var d = device ?? Device.Cpu;
        return new(Native.distill_randperm(n, G(generator), (int)d.Type, d.Index));
    }

    /// <summary>Copies managed data into a new tensor of the given shape (C order).</summary>
    public static Tensor FromSpan<T>(ReadOnlySpan<T> data, long[] shape, Device? device = null) where T : unmanaged
    {
        var d = device ?? Device.Cpu;
        long numel = 1;
        foreach (var s in shape) numel *= s;
        if (numel != data.Length)
            throw new ArgumentException($"{data.Length} elements do not fill shape [{string.Join(", ", shape)}]");
        fixed (T* src = data)
        fixed (long* p = shape)
            return new(Native.distill_from_data(src, (long)data.Length * sizeof(T), p, shape.Length, null, 0,
                (int)DTypeExtensions.Of<T>(), (int)d.Type, d.Index));
    }

    public static Tensor FromArray<T>(T[] data, long[] shape, Device? device = null) where T : unmanaged =>
        FromSpan<T>(data, shape, device);

    /// <summary>A 1-D tensor of the given values.</summary>
    public static Tensor From<T>(params T[] data) where T : unmanaged => FromSpan<T>(data, [data.Length]);

    /// <summary>
    /// Builds a tensor from raw bytes of any dtype, optionally as a strided view of a storage (as checkpoints
    /// store them). The bytes are copied.
    /// </summary>
    public static Tensor FromBytes(ReadOnlySpan<byte> storage, DType dtype, long[] shape, long[]? strides = null, long storageOffset = 0)
    {
        if (strides is not null && strides.Length != shape.Length) throw new ArgumentException("strides and shape differ in rank");
        fixed (byte* src = storage)
        fixed (long* p = shape)
        fixed (long* s = strides)
            return new(Native.distill_from_data(src, storage.Length, p, shape.Length, strides is null ? null : s, storageOffset,
                (int)dtype, (int)DeviceType.Cpu, -1));
    }

    /// <summary>Reads a tensor straight from a byte range of a file (no managed copy; any size).</summary>
    public static Tensor FromFile(string path, long offset, long nbytes, DType dtype, long[] shape, long[]? strides = null, long storageOffset = 0)
    {
        fixed (long* p = shape)
        fixed (long* s = strides)
            return new(Native.distill_tensor_from_file(path, offset, nbytes, p, shape.Length, strides is null ? null : s, storageOffset, (int)dtype));
    }

    public static Tensor Cat(IReadOnlyList<Tensor> tensors, long dim = 0)
    {
        using var h = new HandleArray(tensors.ToArray());
        fixed (IntPtr* p = h.Pointers) return new(Native.distill_cat(p, tensors.Count, dim));
    }

    public static Tensor Stack(IReadOnlyList<Tensor> tensors, long dim = 0)
    {
        using var h = new HandleArray(tensors.ToArray());
        fixed (IntPtr* p = h.Pointers) return new(Native.distill_stack(p, tensors.Count, dim));
    }

    public static Tensor Where(Tensor condition, Tensor a, Tensor b) => new(Native.distill_where(condition.Handle, a.Handle, b.Handle));

    public static Tensor Einsum(string equation, params Tensor[] operands)
    {
        using var h = new HandleArray(operands);
        fixed (IntPtr* p = h.Pointers) return new(Native.distill_einsum(equation, p, operands.Length));
    }

    public static Tensor[] Meshgrid(Tensor[] tensors, bool ij = true)
    {
        using var h = new HandleArray(tensors);
        var ptrs = h.Pointers;
        return Tensor.Parts(tensors.Length, (outp, cap) => { fixed (IntPtr* p = ptrs) return Native.distill_meshgrid(p, tensors.Length, ij, outp, cap); });
    }

    public static Tensor Inverse(Tensor a) => new(Native.distill_inverse(a.Handle));

    // ---- process-wide settings ------------------------------------------------------------------------------

    /// <summary>Intra-op threads libtorch uses for one op (default: all cores, set at first use of Distill).</summary>
    public static int NumThreads
    {
        get => Native.Check(Native.distill_get_num_threads());
        set => Native.Check(Native.distill_set_num_threads(value));
    }

    public static void SetNumInteropThreads(int n) => Native.Check(Native.distill_set_num_interop_threads(n));

    /// <summary>Seeds libtorch's default generators (used when an op gets no explicit generator).</summary>
    public static void ManualSeed(ulong seed) => Native.Check(Native.distill_manual_seed(seed));

    /// <summary>
    /// Makes ops that have a deterministic implementation use it and ops that have none throw (only warn, with
    /// <paramref name="warnOnly"/>), process-wide: PyTorch's torch.use_deterministic_algorithms.
    /// </summary>
    public static void UseDeterministicAlgorithms(bool mode, bool warnOnly = false) =>
        Native.Check(Native.distill_set_deterministic_algorithms(mode ? 1 : 0, warnOnly ? 1 : 0));

    /// <summary>Whether <see cref="UseDeterministicAlgorithms"/> is on (PyTorch's torch.are_deterministic_algorithms_enabled).</summary>
    public static bool AreDeterministicAlgorithmsEnabled() => Native.Check(Native.distill_deterministic_algorithms()) == 1;

    /// <summary>Whether deterministic mode only warns (PyTorch's torch.is_deterministic_algorithms_warn_only_enabled).</summary>
    public static bool IsDeterministicAlgorithmsWarnOnlyEnabled() => Native.Check(Native.distill_deterministic_algorithms_warn_only()) == 1;

    /// <summary>State of libtorch's default CPU generator (for exact resumption), as bytes.</summary>
    public static byte[] GetRngState()
    {
        using var t = new Tensor(Native.distill_default_generator_get_state());
        return t.ToArray<byte>();
    }

    public static void SetRngState(byte[] state)
    {
        using var t = FromArray(state, [state.Length]);
        Native.Check(Native.distill_default_generator_set_state(t.Handle));
    }

    public static bool CudaIsAvailable => Native.Check(Native.distill_cuda_is_available()) == 1;

    public static int CudaDeviceCount => Native.Check(Native.distill_cuda_device_count());

    public static string Version
    {
        get
        {
            var buf = new byte[64];
            int n;
            fixed (byte* p = buf) n = Native.Check(Native.distill_torch_version(p, buf.Length));
            return System.Text.Encoding.UTF8.GetString(buf, 0, Math.Min(n, buf.Length - 1));
        }
    }

    public static DisposeScope NewDisposeScope() => DisposeScope.Enter();
}
