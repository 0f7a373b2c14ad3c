using Distill.Torch.Interop;

namespace Distill.Torch.Distributed;

/// <summary>
/// c10d's gradient reducer, the engine of PyTorch's DistributedDataParallel: hooks on the parameters' gradient
/// accumulators copy each gradient, divided by the world size, into flat buckets, and all-reduce every bucket
/// as soon as it is full, while backward still runs; when backward returns, every rank holds the averaged
/// gradients. Buckets hold at most <c>bucketCapBytes</c> (the first, reduced earliest, <c>firstBucketBytes</c>) and
/// are laid out from the last parameter to the first, as gradients become ready roughly in that order.
/// </summary>
/// <remarks>
/// Per synchronised step call <see cref="BeforeForward"/> before the forward and <see cref="PrepareForBackward"/>
/// before backward. A backward without <see cref="PrepareForBackward"/> accumulates gradients locally (no_sync),
/// to be reduced together with the next synchronised one.
/// </remarks>
public sealed class Reducer : IDisposable
{
    public const long DefaultBucketCapBytes = 25L << 20;
    public const long DefaultFirstBucketBytes = 1L << 20;

    private readonly ReducerHandle _handle;
    // The group and the parameters must outlive the native reducer, which refers to both.
    private readonly ProcessGroup _group;
    private readonly Tensor[] _parameters;

    /// <param name="findUnusedParameters">Walk the outputs' graph each step to mark parameters that got no gradient; otherwise every parameter must get one every step.</param>
    public Reducer(ProcessGroup group, IReadOnlyList<Tensor> parameters, long bucketCapBytes = DefaultBucketCapBytes,
        long firstBucketBytes = DefaultFirstBucketBytes, bool findUnusedParameters = false)
    {
        if (parameters.Count == 0) throw new ArgumentException("a reducer needs at least one parameter", nameof(parameters));
        _group = group;
        _parameters = parameters.ToArray();
        var h = new HandleArray(_parameters.Length);
        try
        {
            for (int i = 0; i < _parameters.Length; i++) h.Set(i, _parameters[i]);
            _handle = Native.distill_reducer_new(group.Handle, h.Pointers, h.Length, bucketCapBytes, firstBucketBytes, findUnusedParameters ? 1 : 0);
        }
        finally
        {
            h.Dispose();
        }
        if (_handle.IsInvalid) throw Native.TakeError();
    }

    /// <summary>Call before each synchronised forward. Once, after the first step, re-buckets in the order gradients arrived (a collective). Returns whether it did.</summary>
    public bool BeforeForward() => Native.Check(Native.distill_reducer_before_forward(_handle)) == 1;

    /// <summary>Arms the hooks so the next backward reduces; <paramref name="outputs"/> matter only with unused-parameter detection.</summary>
    public void PrepareForBackward(IReadOnlyList<Tensor>? outputs = null)
    {
        outputs ??= [];
        var h = new HandleArray(outputs.Count);
        try
        {
            for (int i = 0; i < outputs.Count; i++) h.Set(i, outputs[i]);
            Native.Check(Native.distill_reducer_prepare_for_backward(_handle, h.Pointers, h.Length));
        }
        finally
        {
            h.Dispose();
        }
    }

    public void Dispose()
    {
        _handle.Dispose();
        GC.KeepAlive(_group);
        GC.KeepAlive(_parameters);
    }
}
