using System.Runtime.InteropServices;
using Distill.Torch.Interop;

namespace Distill.Torch.Distributed;

/// <summary>
/// A c10d key-value store, the rendezvous through which the processes of a group find each other. Values are bytes;
/// <see cref="Get"/> blocks until the key is set or the store's timeout passes.
/// </summary>
public abstract class Store : IDisposable
{
    internal StoreHandle Handle { get; }

    private protected Store(StoreHandle handle)
    {
        if (handle.IsInvalid) throw Native.TakeError();
        Handle = handle;
    }

    public unsafe void Set(string key, ReadOnlySpan<byte> value)
    {
        fixed (byte* p = value) Native.Check(Native.distill_store_set(Handle, key, p, value.Length));
    }

    public void Set(string key, string value) => Set(key, System.Text.Encoding.UTF8.GetBytes(value));

    public byte[] Get(string key)
    {
        Native.Check(Native.distill_store_get(Handle, key, out var data, out long len));
        try
        {
            var bytes = new byte[len];
            if (len > 0) Marshal.Copy(data, bytes, 0, (int)len);
            return bytes;
        }
        finally
        {
            Native.distill_bytes_free(data);
        }
    }

    public string GetString(string key) => System.Text.Encoding.UTF8.GetString(Get(key));

    /// <summary>Adds <paramref name="delta"/> to the integer under <paramref name="key"/> (0 when unset) and returns the new value.</summary>
    public long Add(string key, long delta)
    {
        Native.Check(Native.distill_store_add(Handle, key, delta, out long result));
        return result;
    }

    /// <summary>Blocks until every key is set; throws after <paramref name="timeout"/>.</summary>
    public void Wait(IReadOnlyList<string> keys, TimeSpan timeout) =>
        Native.Check(Native.distill_store_wait(Handle, keys.ToArray(), keys.Count, (long)timeout.TotalMilliseconds));

    /// <summary>The timeout of blocking calls (<see cref="Get"/>, <see cref="Wait"/> without one).</summary>
    public TimeSpan Timeout
    {
        set => Native.Check(Native.distill_store_set_timeout(Handle, (long)value.TotalMilliseconds));
    }

    public void Dispose()
    {
        Handle.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>
/// A store served over TCP. One process (<c>isServer</c>: rank 0, or a launcher) hosts it on a background thread
/// and dies with it; the others connect as clients, retrying until the timeout.
/// </summary>
public sealed class TcpStore : Store
{
    public string Host { get; }
    public int Port { get; }

    /// <param name="worldSize">With a server: the number of processes (server included) it waits for; null waits for nobody.</param>
    public TcpStore(string host, int port, bool isServer, int? worldSize, TimeSpan timeout, bool waitWorkers = true)
        : base(Native.distill_store_tcp(host, port, isServer ? 1 : 0, worldSize ?? -1, waitWorkers ? 1 : 0, (long)timeout.TotalMilliseconds))
    {
        Host = host;
        Port = port;
    }

    /// <summary>
    /// A client of the store at host:port, retrying until <paramref name="timeout"/>: libtorch gives up at once when
    /// nothing listens yet, but a server that starts a moment later (rank 0 on another machine) is the usual case.
    /// </summary>
    public static TcpStore Connect(string host, int port, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                return new TcpStore(host, port, isServer: false, null, timeout);
            }
            catch (TorchException e) when (DateTime.UtcNow < deadline)
            {
                _ = e;
                Thread.Sleep(100);
            }
            catch (TorchException e)
            {
                throw new TorchException($"no rendezvous store answered at {host}:{port} within {timeout.TotalSeconds:0.#} s ({e.Message.Split('\n')[0].Trim()})");
            }
        }
    }
}

/// <summary>A view of another store whose keys all start with <c>prefix/</c>; keeps several groups or attempts apart.</summary>
public sealed class PrefixStore : Store
{
    // Keeps the inner store alive while this view uses it (the native side holds its own reference too).
    private readonly Store _inner;

    public PrefixStore(string prefix, Store inner) : base(Native.distill_store_prefix(prefix, inner.Handle)) => _inner = inner;
}
