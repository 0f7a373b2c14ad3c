using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Distill.Torch.Distributed;

namespace Distill.Torch.Tests.Distributed;

/// <summary>
/// The c10d binding with two ranks in one process, one thread each, over loopback TCP: stores, Gloo collectives and
/// the gradient reducer, checked against hand-computed results.
/// </summary>
public class DistributedTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    internal static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    /// <summary>Runs <paramref name="body"/> as ranks 0..world-1 on their own threads in one group; rethrows the first failure.</summary>
    internal static T[] RunRanks<T>(int world, Func<ProcessGroup, T> body, TimeSpan? timeout = null)
    {
        int port = FreePort();
        var results = new T[world];
        var errors = new Exception?[world];
        var threads = Enumerable.Range(0, world).Select(rank => new Thread(() =>
        {
            try
            {
                using var store = new TcpStore("127.0.0.1", port, rank == 0, world, Timeout, waitWorkers: false);
                using var group = ProcessGroup.Gloo(store, rank, world, timeout ?? Timeout, new GlooDevice { Hostname = "127.0.0.1" });
                results[rank] = body(group);
            }
            catch (Exception e)
            {
                errors[rank] = e;
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        foreach (var e in errors)
            if (e is not null) throw new AggregateException(e);
        return results;
    }

    [Fact]
    public void Gloo_is_built_in()
    {
        Assert.True(ProcessGroup.IsAvailable);
    }

    [Fact]
    public void Store_shares_values_and_counters_between_server_and_client()
    {
        int port = FreePort();
        using var server = new TcpStore("127.0.0.1", port, isServer: true, 2, Timeout, waitWorkers: false);
        using var client = new TcpStore("127.0.0.1", port, isServer: false, null, Timeout);
        server.Set("greeting", "hello");
        Assert.Equal("hello", client.GetString("greeting"));
        Assert.Equal(5, client.Add("counter", 5));
        Assert.Equal(7, server.Add("counter", 2));
        // A prefix store namespaces its keys: "job/x" in the underlying store.
        using var prefixed = new PrefixStore("job", client);
        prefixed.Set("x", [1, 2, 3]);
        Assert.Equal(new byte[] { 1, 2, 3 }, server.Get("job/x"));
        server.Set("job/y", "from outside");
        Assert.Equal("from outside", prefixed.GetString("y"));
    }

    [Fact]
    public void Store_get_of_a_missing_key_times_out_with_an_error()
    {
        int port = FreePort();
        using var server = new TcpStore("127.0.0.1", port, isServer: true, 1, Timeout, waitWorkers: false);
        server.Timeout = TimeSpan.FromMilliseconds(300);
        var sw = Stopwatch.StartNew();
        Assert.Throws<TorchException>(() => server.Get("never-set"));
        Assert.InRange(sw.Elapsed.TotalSeconds, 0.2, 10);
    }

    [Fact]
    public void Client_without_a_server_fails_after_its_timeout()
    {
        int port = FreePort();
        var sw = Stopwatch.StartNew();
        var e = Assert.Throws<TorchException>(() => TcpStore.Connect("127.0.0.1", port, TimeSpan.FromSeconds(1)));
        Assert.InRange(sw.Elapsed.TotalSeconds, 0.9, 15);
        Assert.Contains($"127.0.0.1:{port}", e.Message);
    }

    [Fact]
    public async Task Client_connects_to_a_server_that_starts_after_it()
    {
        int port = FreePort();
        var client = Task.Run(() => TcpStore.Connect("127.0.0.1", port, TimeSpan.FromSeconds(20)));
        await Task.Delay(500);
        using var server = new TcpStore("127.0.0.1", port, isServer: true, 2, Timeout, waitWorkers: false);
        using var c = await client;
        c.Set("k", "v");
        Assert.Equal("v", server.GetString("k"));
    }

    [Fact]
    public void AllReduce_sums_and_takes_maxima_over_ranks()
    {
        var results = RunRanks(2, g =>
        {
            using var t = torch.FromArray(new float[] { g.Rank + 1, 10f * (g.Rank + 1), -g.Rank }, [3]);
            g.AllReduce(t);
            using var m = torch.FromArray(new long[] { 3 - g.Rank, g.Rank }, [2]);
            g.AllReduce(m, ReduceOp.Max);
            return (t.ToArray<float>(), m.ToArray<long>());
        });
        foreach (var (sum, max) in results)
        {
            Assert.Equal(new float[] { 3, 30, -1 }, sum);
            Assert.Equal(new long[] { 3, 1 }, max);
        }
    }

    [Fact]
    public void Broadcast_copies_the_roots_tensors_and_allgather_collects_every_rank()
    {
        var results = RunRanks(2, g =>
        {
            using var a = torch.FromArray(new double[] { g.Rank * 100 + 1, g.Rank * 100 + 2 }, [2]);
            using var b = torch.FromArray(new int[] { g.Rank + 7 }, [1]);
            g.Broadcast([a, b], root: 1);
            using var mine = torch.FromArray(new float[] { g.Rank, g.Rank * 2 }, [1, 2]);
            var all = g.AllGather(mine);
            var gathered = all.Select(t => t.ToArray<float>()).ToArray();
            foreach (var t in all) t.Dispose();
            g.Barrier();
            return (a.ToArray<double>(), b.ToArray<int>(), gathered);
        });
        foreach (var (a, b, gathered) in results)
        {
            Assert.Equal(new double[] { 101, 102 }, a);
            Assert.Equal(new[] { 8 }, b);
            Assert.Equal(new float[] { 0, 0 }, gathered[0]);
            Assert.Equal(new float[] { 1, 2 }, gathered[1]);
        }
    }

    [Fact]
    public void Collectives_of_empty_tensors_return_empty_results_and_leave_the_group_usable()
    {
        // Gloo divides by the element count, so an empty collective used to kill the process with SIGFPE.
        var results = RunRanks(2, g =>
        {
            using var empty = torch.FromArray(Array.Empty<double>(), [0]);
            var gathered = g.AllGather(empty);
            var sizes = gathered.Select(t => t.NumEl).ToArray();
            foreach (var t in gathered) t.Dispose();
            g.AllReduce(empty);
            g.Broadcast(empty);
            using var one = torch.FromArray(new double[] { g.Rank + 1 }, [1]);
            g.AllReduce(one);
            return (sizes, one.ToArray<double>()[0]);
        });
        foreach (var (sizes, sum) in results)
        {
            Assert.Equal(new long[] { 0, 0 }, sizes);
            Assert.Equal(3.0, sum);
        }
    }

    [Fact]
    public void Coalesced_broadcast_overwrites_parameters_of_mixed_dtypes()
    {
        var results = RunRanks(2, g =>
        {
            using var w = torch.FromArray(new float[] { g.Rank, g.Rank, g.Rank }, [3]).RequiresGrad_();
            using var count = torch.FromArray(new long[] { 5 + g.Rank }, [1]);
            using var detached = w.Detach();
            g.BroadcastCoalesced([detached, count], bufferBytes: 8);
            return (w.ToArray<float>(), count.ToArray<long>());
        });
        Assert.All(results, r => Assert.Equal(new float[] { 0, 0, 0 }, r.Item1));
        Assert.All(results, r => Assert.Equal(new long[] { 5 }, r.Item2));
    }

    [Fact]
    public void A_collective_nobody_answers_fails_after_the_group_timeout_instead_of_hanging()
    {
        using var done = new ManualResetEventSlim();
        var sw = Stopwatch.StartNew();
        var results = RunRanks(2, g =>
        {
            if (g.Rank == 1)
            {
                // Alive but never joins the all-reduce: a hung peer.
                done.Wait(TimeSpan.FromSeconds(30));
                return "idle";
            }
            using var t = torch.FromArray(new float[] { 1 }, [1]);
            try
            {
                return Assert.Throws<TorchException>(() => g.AllReduce(t)).Message;
            }
            finally
            {
                done.Set();
            }
        }, timeout: TimeSpan.FromSeconds(1));
        Assert.Contains("Timed out", results[0], StringComparison.OrdinalIgnoreCase);
        Assert.InRange(sw.Elapsed.TotalSeconds, 0.9, 15);
    }

    [Fact]
    public void A_peer_that_leaves_makes_the_next_collective_fail_quickly()
    {
        var sw = Stopwatch.StartNew();
        var results = RunRanks(2, g =>
        {
            g.Barrier();
            if (g.Rank == 1) return "gone"; // its group is destroyed, its connections closed
            Thread.Sleep(200);
            using var t = torch.FromArray(new float[] { 1 }, [1]);
            return Assert.Throws<TorchException>(() => g.AllReduce(t)).Message;
        }, timeout: TimeSpan.FromSeconds(10));
        Assert.False(string.IsNullOrWhiteSpace(results[0]));
        Assert.InRange(sw.Elapsed.TotalSeconds, 0, 8);
    }

    [Fact]
    public void Reducer_averages_gradients_during_backward()
    {
        // loss_r = sum(w * x_r) has gradient x_r; two ranks with x = (1, 2, 3) and (3, 6, 9) average to (2, 4, 6).
        // A second parameter in another bucket (the first holds 8 bytes) checks that every bucket is reduced.
        var results = RunRanks(2, g =>
        {
            using var w = torch.FromArray(new float[] { 1, 1, 1 }, [3]).RequiresGrad_();
            using var v = torch.FromArray(new float[] { 0, 0 }, [2]).RequiresGrad_();
            using var reducer = new Reducer(g, [w, v], bucketCapBytes: 16, firstBucketBytes: 8);
            float s = 1 + 2 * g.Rank;
            using var x = torch.FromArray(new float[] { s, 2 * s, 3 * s }, [3]);
            using var y = torch.FromArray(new float[] { g.Rank, 1 }, [2]);
            reducer.BeforeForward();
            using var loss = (w * x).Sum() + (v * y).Sum();
            reducer.PrepareForBackward();
            loss.Backward();
            using var gw = w.Grad!;
            using var gv = v.Grad!;
            return (gw.ToArray<float>(), gv.ToArray<float>());
        });
        foreach (var (gw, gv) in results)
        {
            Assert.Equal(new float[] { 2, 4, 6 }, gw);
            Assert.Equal(new float[] { 0.5f, 1 }, gv);
        }
    }

    [Fact]
    public void Reducer_skipped_for_accumulation_steps_reduces_the_accumulated_sum()
    {
        // Rank r adds gradient (r+1) twice, the first time without reducing (no_sync): 2+2 and 4+4 average to 6.
        var results = RunRanks(2, g =>
        {
            using var w = torch.FromArray(new float[] { 0, 0 }, [2]).RequiresGrad_();
            using var reducer = new Reducer(g, [w]);
            for (int step = 0; step < 2; step++)
            {
                bool sync = step == 1;
                if (sync) reducer.BeforeForward();
                using var loss = (w * (2.0 * (g.Rank + 1))).Sum();
                if (sync) reducer.PrepareForBackward();
                loss.Backward();
            }
            using var grad = w.Grad!;
            var afterAccumulation = grad.ToArray<float>();
            // Next iteration: buckets are rebuilt (a collective) and reducing still works.
            w.ZeroGrad();
            bool rebuilt = reducer.BeforeForward();
            using var loss2 = (w * (g.Rank == 0 ? 1.0 : 3.0)).Sum();
            reducer.PrepareForBackward();
            loss2.Backward();
            using var grad2 = w.Grad!;
            return (afterAccumulation, grad2.ToArray<float>(), rebuilt);
        });
        foreach (var (acc, next, _) in results)
        {
            Assert.Equal(new float[] { 6, 6 }, acc);
            Assert.Equal(new float[] { 2, 2 }, next);
        }
    }
}

/// <summary>SyncBatchNorm over two ranks against one process's BatchNorm over the concatenated batch.</summary>
public class SyncBatchNormTests
{
    [Fact]
    public void Forward_backward_and_running_statistics_match_batchnorm_over_the_whole_batch()
    {
        // Ranks hold 2 and 3 samples (unequal counts weight the statistics); loss = sum(y * g) with a fixed g.
        var gen = new Generator(11);
        using var x = torch.Randn([5, 3, 4, 2], gen) * 2.0 + 1.0;
        using var g = torch.Randn([5, 3, 4, 2], gen);
        float[] weight = [0.5f, 1.5f, -1f], bias = [0.1f, 0.2f, 0.3f];

        using var xs = x.Detach().RequiresGrad_();
        using var w = torch.FromArray(weight, [3]).RequiresGrad_();
        using var b = torch.FromArray(bias, [3]).RequiresGrad_();
        using var rm = torch.Zeros([3]);
        using var rv = torch.Ones([3]);
        using var y = Functional.BatchNorm(xs, rm, rv, w, b, true, 0.1, 1e-5);
        using (var loss = (y * g).Sum()) loss.Backward();
        using var dx = xs.Grad!;
        using var dw = w.Grad!;
        using var db = b.Grad!;

        long[] starts = [0, 2], lengths = [2, 3];
        var results = DistributedTests.RunRanks(2, group =>
        {
            using var xr = x.Narrow(0, starts[group.Rank], lengths[group.Rank]).Detach().RequiresGrad_();
            using var gr = g.Narrow(0, starts[group.Rank], lengths[group.Rank]);
            using var wr = torch.FromArray(weight, [3]).RequiresGrad_();
            using var br = torch.FromArray(bias, [3]).RequiresGrad_();
            using var rmr = torch.Zeros([3]);
            using var rvr = torch.Ones([3]);
            using var yr = group.SyncBatchNorm(xr, rmr, rvr, wr, br, 0.1, 1e-5);
            using (var loss = (yr * gr).Sum()) loss.Backward();
            using var dxr = xr.Grad!;
            using var dwr = wr.Grad!;
            using var dbr = br.Grad!;
            return (Y: yr.ToArray<float>(), Dx: dxr.ToArray<float>(), Dw: dwr.ToArray<float>(), Db: dbr.ToArray<float>(),
                Rm: rmr.ToArray<float>(), Rv: rvr.ToArray<float>());
        });

        static void Near(float[] expected, float[] actual)
        {
            Assert.Equal(expected.Length, actual.Length);
            for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - actual[i]) < 1e-5, $"[{i}] {expected[i]} vs {actual[i]}");
        }
        Near(y.ToArray<float>(), results[0].Y.Concat(results[1].Y).ToArray());
        Near(dx.ToArray<float>(), results[0].Dx.Concat(results[1].Dx).ToArray());
        // Parameter gradients are each rank's share; together they are the whole batch's (DDP then averages them).
        Near(dw.ToArray<float>(), results[0].Dw.Zip(results[1].Dw, (p, q) => p + q).ToArray());
        Near(db.ToArray<float>(), results[0].Db.Zip(results[1].Db, (p, q) => p + q).ToArray());
        foreach (var r in results)
        {
            Near(rm.ToArray<float>(), r.Rm);
            Near(rv.ToArray<float>(), r.Rv);
        }
    }
}
