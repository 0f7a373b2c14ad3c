using Distill.Torch.Interop;

namespace Distill.Torch;

/// <summary>Shape, indexing and reduction ops.</summary>
public sealed unsafe partial class Tensor
{
    public Tensor View(params long[] shape) { fixed (long* p = shape) return new(Native.distill_view(Handle, p, shape.Length)); }
    public Tensor Reshape(params long[] shape) { fixed (long* p = shape) return new(Native.distill_reshape(Handle, p, shape.Length)); }
    public Tensor Permute(params long[] dims) { fixed (long* p = dims) return new(Native.distill_permute(Handle, p, dims.Length)); }
    public Tensor Expand(params long[] shape) { fixed (long* p = shape) return new(Native.distill_expand(Handle, p, shape.Length)); }
    public Tensor Repeat(params long[] repeats) { fixed (long* p = repeats) return new(Native.distill_repeat(Handle, p, repeats.Length)); }
    public Tensor Flip(params long[] dims) { fixed (long* p = dims) return new(Native.distill_flip(Handle, p, dims.Length)); }
    public Tensor Roll(long[] shifts, long[] dims)
    {
        if (shifts.Length != dims.Length) throw new ArgumentException("shifts and dims differ in length");
        fixed (long* s = shifts) fixed (long* d = dims) return new(Native.distill_roll(Handle, s, d, dims.Length));
    }
    public Tensor Transpose(long dim0, long dim1) => new(Native.distill_transpose(Handle, dim0, dim1));
    /// <summary>Transpose of a 2-D tensor.</summary>
    public Tensor T() => Transpose(0, 1);
    public Tensor Flatten(long startDim = 0, long endDim = -1) => new(Native.distill_flatten(Handle, startDim, endDim));
    public Tensor Squeeze() => new(Native.distill_squeeze(Handle, 0, true));
    public Tensor Squeeze(long dim) => new(Native.distill_squeeze(Handle, dim, false));
    public Tensor Unsqueeze(long dim) => new(Native.distill_unsqueeze(Handle, dim));
    public Tensor Narrow(long dim, long start, long length) => new(Native.distill_narrow(Handle, dim, start, length));
    /// <summary>x[start:end:step] on one dimension (end may exceed the size, as in Python slicing).</summary>
    public Tensor Slice(long dim, long start, long end, long step = 1) => new(Native.distill_slice(Handle, dim, start, end, step));
    public Tensor Select(long dim, long index) => new(Native.distill_select(Handle, dim, index));
    [System.Runtime.CompilerServices.IndexerName("At")]
    public Tensor this[long index] => Select(0, index);
    public Tensor IndexSelect(long dim, Tensor index) => new(Native.distill_index_select(Handle, dim, index.Handle));
    public Tensor Gather(long dim, Tensor index) => new(Native.distill_gather(Handle, dim, index.Handle));
    public Tensor Scatter(long dim, Tensor index, Tensor src) => new(Native.distill_scatter(Handle, dim, index.Handle, src.Handle));
    public Tensor ScatterAdd(long dim, Tensor index, Tensor src) => new(Native.distill_scatter_add(Handle, dim, index.Handle, src.Handle));
    public Tensor IndexAdd(long dim, Tensor index, Tensor src) => new(Native.distill_index_add(Handle, dim, index.Handle, src.Handle));
    /// <summary>x[index] with a bool mask or int64 indices on the leading dimension.</summary>
    public Tensor Index(Tensor index) => new(Native.distill_index(Handle, index.Handle));
    public Tensor IndexPut_(Tensor index, Tensor values, bool accumulate = false)
    {
        Native.Check(Native.distill_index_put_(Handle, index.Handle, values.Handle, accumulate));
        return this;
    }
    public Tensor Tril(long diagonal = 0) => new(Native.distill_tril(Handle, diagonal));
    public Tensor Triu(long diagonal = 0) => new(Native.distill_triu(Handle, diagonal));

    public Tensor[] Split(long splitSize, long dim = 0)
    {
        long n = (Size((int)dim) + splitSize - 1) / Math.Max(splitSize, 1);
        return Parts(checked((int)Math.Max(n, 1)), (p, cap) => Native.distill_split(Handle, splitSize, dim, p, cap));
    }

    public Tensor[] Split(long[] sizes, long dim = 0)
    {
        fixed (long* s = sizes)
        {
            long* sp = s;
            return Parts(sizes.Length, (p, cap) => Native.distill_split_sizes(Handle, sp, sizes.Length, dim, p, cap));
        }
    }

    public Tensor[] Chunk(long chunks, long dim = 0) =>
        Parts(checked((int)chunks), (p, cap) => Native.distill_chunk(Handle, chunks, dim, p, cap));

    public Tensor[] Unbind(long dim = 0) =>
        Parts(checked((int)Size((int)dim)), (p, cap) => Native.distill_unbind(Handle, dim, p, cap));

    internal delegate int PartsCall(IntPtr* outParts, int capacity);

    internal static Tensor[] Parts(int capacity, PartsCall call)
    {
        var raw = new IntPtr[Math.Max(capacity, 1)];
        int n;
        fixed (IntPtr* p = raw) n = Native.Check(call(p, raw.Length));
        var result = new Tensor[n];
        for (int i = 0; i < n; i++) result[i] = FromRaw(raw[i]);
        return result;
    }

    // ---- reductions -----------------------------------------------------------------------------------------

    public Tensor Sum() => new(Native.distill_sum(Handle, null, 0, false, -1));
    public Tensor Sum(long[] dims, bool keepdim = false, DType? dtype = null)
    {
        fixed (long* p = dims) return new(Native.distill_sum(Handle, p, dims.Length, keepdim, dtype is null ? -1 : (int)dtype));
    }
    public Tensor Sum(long dim, bool keepdim = false) => Sum([dim], keepdim);
    public Tensor Mean() => new(Native.distill_mean(Handle, null, 0, false, -1));
    public Tensor Mean(long[] dims, bool keepdim = false, DType? dtype = null)
    {
        fixed (long* p = dims) return new(Native.distill_mean(Handle, p, dims.Length, keepdim, dtype is null ? -1 : (int)dtype));
    }
    public Tensor Mean(long dim, bool keepdim = false) => Mean([dim], keepdim);
    public Tensor Prod() => new(Native.distill_prod(Handle, 0, false, false));
    public Tensor Prod(long dim, bool keepdim = false) => new(Native.distill_prod(Handle, dim, true, keepdim));
    /// <summary>Variance with Bessel's correction by default (correction = 1), as torch.var.</summary>
    public Tensor Var(long[]? dims = null, long correction = 1, bool keepdim = false)
    {
        fixed (long* p = dims) return new(Native.distill_var(Handle, dims is null ? null : p, dims?.Length ?? 0, correction, keepdim));
    }
    public Tensor Std(long[]? dims = null, long correction = 1, bool keepdim = false)
    {
        fixed (long* p = dims) return new(Native.distill_std(Handle, dims is null ? null : p, dims?.Length ?? 0, correction, keepdim));
    }
    public Tensor Norm(double p = 2) => new(Native.distill_norm(Handle, p, null, 0, false));
    public Tensor Norm(double p, long[] dims, bool keepdim = false)
    {
        fixed (long* d = dims) return new(Native.distill_norm(Handle, p, d, dims.Length, keepdim));
    }
    public Tensor LogSumExp(long dim, bool keepdim = false)
    {
        long d = dim;
        return new(Native.distill_logsumexp(Handle, &d, 1, keepdim));
    }
    public Tensor Max() => new(Native.distill_max_all(Handle));
    public Tensor Min() => new(Native.distill_min_all(Handle));
    public (Tensor Values, Tensor Indices) Max(long dim, bool keepdim = false)
    {
        Native.Check(Native.distill_max_dim(Handle, dim, keepdim, out var v, out var i));
        return (FromRaw(v), FromRaw(i));
    }
    public (Tensor Values, Tensor Indices) Min(long dim, bool keepdim = false)
    {
        Native.Check(Native.distill_min_dim(Handle, dim, keepdim, out var v, out var i));
        return (FromRaw(v), FromRaw(i));
    }
    public (Tensor Values, Tensor Indices) TopK(long k, long dim = -1, bool largest = true, bool sorted = true)
    {
        Native.Check(Native.distill_topk(Handle, k, dim, largest, sorted, out var v, out var i));
        return (FromRaw(v), FromRaw(i));
    }
    public (Tensor Values, Tensor Indices) Sort(long dim = -1, bool descending = false, bool stable = false)
    {
        Native.Check(Native.distill_sort(Handle, dim, descending, stable, out var v, out var i));
        return (FromRaw(v), FromRaw(i));
    }
    /// <summary>Index of the first maximum over all elements (flattened).</summary>
    public Tensor ArgMax() => new(Native.distill_argmax(Handle, 0, false, false));
    public Tensor ArgMax(long dim, bool keepdim = false) => new(Native.distill_argmax(Handle, dim, true, keepdim));
    public Tensor ArgMin() => new(Native.distill_argmin(Handle, 0, false, false));
    public Tensor ArgMin(long dim, bool keepdim = false) => new(Native.distill_argmin(Handle, dim, true, keepdim));
    public Tensor CumSum(long dim) => new(Native.distill_cumsum(Handle, dim));
    public Tensor Any() => new(Native.distill_any(Handle));
    public Tensor All() => new(Native.distill_all(Handle));
    public Tensor OneHot(long numClasses) => new(Native.distill_one_hot(Handle, numClasses));

    // ---- nn conveniences (see Functional for the full set) -------------------------------------------------

    public Tensor Softmax(long dim) => Functional.Softmax(this, dim);
    public Tensor LogSoftmax(long dim) => Functional.LogSoftmax(this, dim);
}
