using System.Runtime.InteropServices;

namespace Distill.Torch.Interop;

// distributed.cpp
internal static partial class Native
{
    [LibraryImport(Lib)] internal static partial int distill_dist_available();
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial StoreHandle distill_store_tcp(string host, int port, int isServer, int numWorkers, int waitWorkers, long timeoutMs);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] internal static partial StoreHandle distill_store_prefix(string prefix, StoreHandle store);
    [LibraryImport(Lib)] internal static partial void distill_store_free(IntPtr store);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] internal static unsafe partial int distill_store_set(StoreHandle store, string key, byte* data, long len);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] internal static partial int distill_store_get(StoreHandle store, string key, out IntPtr data, out long len);
    [LibraryImport(Lib)] internal static partial void distill_bytes_free(IntPtr data);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] internal static partial int distill_store_add(StoreHandle store, string key, long delta, out long result);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] internal static partial int distill_store_wait(StoreHandle store, string[] keys, int n, long timeoutMs);
    [LibraryImport(Lib)] internal static partial int distill_store_set_timeout(StoreHandle store, long timeoutMs);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial ProcessGroupHandle distill_pg_gloo(StoreHandle store, int rank, int size, long timeoutMs, string? ifnames, string? hostname, int threads);
    [LibraryImport(Lib)] internal static partial void distill_pg_free(IntPtr pg);
    [LibraryImport(Lib)] internal static partial int distill_pg_broadcast(ProcessGroupHandle pg, IntPtr[] tensors, int n, int root);
    [LibraryImport(Lib)] internal static partial int distill_pg_broadcast_coalesced(ProcessGroupHandle pg, IntPtr[] tensors, int n, long bufferBytes, int root);
    [LibraryImport(Lib)] internal static partial int distill_pg_allreduce(ProcessGroupHandle pg, IntPtr[] tensors, int n, int op);
    [LibraryImport(Lib)] internal static partial int distill_pg_allgather(ProcessGroupHandle pg, TensorHandle input, IntPtr[] outputs, int n);
    [LibraryImport(Lib)] internal static partial int distill_pg_barrier(ProcessGroupHandle pg);
    [LibraryImport(Lib)] internal static partial int distill_pg_monitored_barrier(ProcessGroupHandle pg, long timeoutMs);

    [LibraryImport(Lib)]
    internal static partial ReducerHandle distill_reducer_new(ProcessGroupHandle pg, IntPtr[] parameters, int n, long capBytes, long firstBucketBytes, int findUnused);
    [LibraryImport(Lib)] internal static partial void distill_reducer_free(IntPtr reducer);
    [LibraryImport(Lib)] internal static partial int distill_reducer_before_forward(ReducerHandle reducer);
    [LibraryImport(Lib)] internal static partial int distill_reducer_prepare_for_backward(ReducerHandle reducer, IntPtr[] outputs, int n);

    [LibraryImport(Lib)]
    internal static partial IntPtr distill_sync_batch_norm(ProcessGroupHandle pg, TensorHandle x, TensorHandle weight, TensorHandle bias,
        TensorHandle runningMean, TensorHandle runningVar, double momentum, double eps);
}

/// <summary>Owns a native c10d store.</summary>
public sealed class StoreHandle : SafeHandle
{
    public StoreHandle() : base(IntPtr.Zero, ownsHandle: true) { }
    public override bool IsInvalid => handle == IntPtr.Zero;
    protected override bool ReleaseHandle()
    {
        Native.distill_store_free(handle);
        return true;
    }
}

/// <summary>Owns a native c10d process group.</summary>
public sealed class ProcessGroupHandle : SafeHandle
{
    public ProcessGroupHandle() : base(IntPtr.Zero, ownsHandle: true) { }
    public override bool IsInvalid => handle == IntPtr.Zero;
    protected override bool ReleaseHandle()
    {
        Native.distill_pg_free(handle);
        return true;
    }
}

/// <summary>Owns a native c10d gradient reducer.</summary>
public sealed class ReducerHandle : SafeHandle
{
    public ReducerHandle() : base(IntPtr.Zero, ownsHandle: true) { }
    public override bool IsInvalid => handle == IntPtr.Zero;
    protected override bool ReleaseHandle()
    {
        Native.distill_reducer_free(handle);
        return true;
    }
}
