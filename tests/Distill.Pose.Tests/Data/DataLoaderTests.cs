using Distill.Pose.Data;

namespace Distill.Pose.Tests.Data;

public class DataLoaderTests
{
    private sealed class Tracked : IDisposable
    {
        public Tracked(IReadOnlyList<int> items) => Items = items.ToArray();

        public int[] Items { get; }

        public bool Disposed { get; private set; }

        public void Dispose() => Disposed = true;
    }

    private static DataLoader<int, Tracked> Loader(DataLoaderOptions options, Func<int, int, int> load, List<Tracked>? collated = null,
        Func<int, string>? describe = null) =>
        new(load, items =>
        {
            var t = new Tracked(items);
            if (collated is not null) lock (collated) collated.Add(t);
            return t;
        }, options, describe);

    [Fact]
    public void BatchesKeepTheGivenOrderWhateverTheWorkerTiming()
    {
        // Later items finish first (index 0 sleeps longest), yet batches come out in the order given.
        int[] order = [9, 3, 7, 0, 1, 8, 2, 6, 5, 4, 3];
        using var loader = Loader(new DataLoaderOptions { BatchSize = 4, Workers = 3 }, (i, epoch) =>
        {
            Thread.Sleep((9 - i) * 2);
            return i * 100 + epoch;
        });
        var batches = loader.Epoch(7, order).ToList();
        Assert.Equal([0, 1, 2], batches.Select(b => b.Index));
        Assert.Equal(order.Select(i => i * 100 + 7), batches.SelectMany(b => b.Value.Items));
        Assert.Equal(3, batches[2].Value.Items.Length);
        Assert.All(batches, b => Assert.True(b.DataWait >= TimeSpan.Zero));

        using var dropping = Loader(new DataLoaderOptions { BatchSize = 4, Workers = 2, DropLast = true }, (i, _) => i);
        Assert.Equal(2, dropping.Epoch(0, order).Count());
        Assert.Equal(2, dropping.BatchCount(order.Length));
    }

    [Fact]
    public void WorkerErrorSurfacesOnTheConsumerNamingTheSample()
    {
        using var loader = Loader(new DataLoaderOptions { BatchSize = 2, Workers = 3 }, (i, _) =>
            i == 5 ? throw new FileNotFoundException("missing.jpg not found") : i,
            describe: i => $"sample 'ann-{i}' (image 'img{i}.jpg')");
        var seen = new List<int>();
        var e = Assert.Throws<DataLoaderException>(() =>
        {
            foreach (var b in loader.Epoch(2, [0, 1, 2, 3, 5, 4, 6, 7])) seen.AddRange(b.Value.Items);
        });
        // Batches before the failing one arrive intact; the failure names the sample and keeps the cause.
        Assert.Equal([0, 1, 2, 3], seen);
        Assert.Contains("ann-5", e.Message);
        Assert.Contains("img5.jpg", e.Message);
        Assert.Contains("missing.jpg not found", e.Message);
        Assert.IsType<FileNotFoundException>(e.InnerException);
        Assert.Equal(5, e.SampleIndex);
        Assert.Equal(2, e.BatchIndex);
        Assert.Equal(2, e.Epoch);
    }

    [Fact]
    public void CollationErrorSurfacesToo()
    {
        using var loader = new DataLoader<int, int>((i, _) => i, items => items.Count == 1 ? throw new InvalidOperationException("odd batch") : items.Sum(),
            new DataLoaderOptions { BatchSize = 2, Workers = 2 });
        var e = Assert.Throws<DataLoaderException>(() => loader.Epoch(0, [1, 2, 3]).ToList());
        Assert.Contains("collating batch 1", e.Message);
        Assert.Null(e.SampleIndex);
    }

    [Fact]
    public void CancellationStopsTheEpoch()
    {
        int loads = 0;
        using var cts = new CancellationTokenSource();
        using var loader = Loader(new DataLoaderOptions { BatchSize = 2, Workers = 2 }, (i, _) =>
        {
            Interlocked.Increment(ref loads);
            Thread.Sleep(20);
            return i;
        });
        var order = Enumerable.Range(0, 200).ToArray();
        int taken = 0;
        Assert.ThrowsAny<OperationCanceledException>(() =>
        {
            foreach (var b in loader.Epoch(0, order, cts.Token))
            {
                taken++;
                if (taken == 2) cts.Cancel();
            }
        });
        // Enumeration ended and joined the workers: nothing loads afterwards.
        int after = Volatile.Read(ref loads);
        Thread.Sleep(100);
        Assert.Equal(after, Volatile.Read(ref loads));
        Assert.True(after < 200);
    }

    [Fact]
    public void PrefetchBoundsTheWorkAheadAndDisposeFreesUntakenBatches()
    {
        int loads = 0;
        var collated = new List<Tracked>();
        var loader = Loader(new DataLoaderOptions { BatchSize = 4, Workers = 3, PrefetchBatches = 2 }, (i, _) =>
        {
            Interlocked.Increment(ref loads);
            return i;
        }, collated);
        using (var e = loader.Epoch(0, Enumerable.Range(0, 100).ToArray()).GetEnumerator())
        {
            Assert.True(e.MoveNext());
            var first = e.Current.Value;
            // Give the workers time to run ahead as far as they may.
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (Volatile.Read(ref loads) < 12 && DateTime.UtcNow < deadline) Thread.Sleep(10);
            Thread.Sleep(100);
            // Two batches in flight, then one more once the first was taken: at most 3 x 4 items loaded.
            Assert.Equal(12, Volatile.Read(ref loads));
            first.Dispose();
            loader.Dispose();
            Assert.ThrowsAny<Exception>(() => e.MoveNext());
        }
        Thread.Sleep(50);
        int final = Volatile.Read(ref loads);
        Assert.True(final <= 12);
        // Every batch was either taken (and disposed above) or disposed by the loader.
        lock (collated) Assert.All(collated, t => Assert.True(t.Disposed));
        Assert.Throws<ObjectDisposedException>(() => loader.Epoch(1, [1]));
    }

    [Fact]
    public void DataWaitMeasuresTheConsumerBlocking()
    {
        using var loader = Loader(new DataLoaderOptions { BatchSize = 2, Workers = 1, PrefetchBatches = 4 }, (i, _) =>
        {
            Thread.Sleep(40);
            return i;
        });
        using var e = loader.Epoch(0, [0, 1, 2, 3]).GetEnumerator();
        Assert.True(e.MoveNext());
        // The first batch needs two 40 ms loads on one worker.
        Assert.True(e.Current.DataWait >= TimeSpan.FromMilliseconds(60), $"waited {e.Current.DataWait}");
        Thread.Sleep(600);
        Assert.True(e.MoveNext());
        // The second was ready long before it was asked for.
        Assert.True(e.Current.DataWait < TimeSpan.FromMilliseconds(50), $"waited {e.Current.DataWait}");
    }

    [Fact]
    public void BadOptionsAreRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => Loader(new DataLoaderOptions { BatchSize = 0, Workers = 0 }, (i, _) => i));
        Assert.Contains("BatchSize", e.Message);
        Assert.Contains("Workers", e.Message);
        using var loader = Loader(new DataLoaderOptions(), (i, _) => i);
        Assert.Empty(loader.Epoch(0, []));
    }
}
