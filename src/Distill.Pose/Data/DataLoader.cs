using System.Diagnostics;
using System.Threading.Channels;

namespace Distill.Pose.Data;

/// <summary>
/// Loads samples on background threads and hands out collated batches in the order given, like PyTorch's
/// DataLoader with a sampler: the caller supplies each epoch's index order; <c>load(index, epoch)</c> produces one
/// item and <c>collate(items)</c> one batch.
/// </summary>
/// <remarks>
/// Batches come out in order whatever the thread count, so results are deterministic when <c>load</c> depends only on
/// (index, epoch). Workers pull positions from a channel that the consumer fills, one batch per batch taken, so at
/// most <see cref="DataLoaderOptions.PrefetchBatches"/> batches run ahead of it. The worker that finishes a batch's
/// last item collates it. A failure surfaces on the consumer, when it reaches the failing batch, as a
/// <see cref="DataLoaderException"/> naming the sample. Ending the enumeration early (break, exception,
/// cancellation) or disposing the loader stops the workers; batches that were collated but never handed out are
/// disposed when <typeparamref name="TBatch"/> is <see cref="IDisposable"/>.
/// </remarks>
public sealed class DataLoader<TItem, TBatch> : IDisposable
{
    private readonly Func<int, int, TItem> _load;
    private readonly Func<IReadOnlyList<TItem>, TBatch> _collate;
    private readonly Func<int, string> _describe;
    private readonly HashSet<EpochRun> _runs = [];
    private bool _disposed;

    /// <param name="load">Produces the item of a dataset index for an epoch; called on worker threads.</param>
    /// <param name="collate">Builds a batch from items in order; called on worker threads.</param>
    /// <param name="options">Batching and threading.</param>
    /// <param name="describe">Names a dataset index in error messages (e.g. its id and image path).</param>
    public DataLoader(Func<int, int, TItem> load, Func<IReadOnlyList<TItem>, TBatch> collate, DataLoaderOptions options,
        Func<int, string>? describe = null)
    {
        ArgumentNullException.ThrowIfNull(load);
        ArgumentNullException.ThrowIfNull(collate);
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate();
        if (errors.Count > 0) throw new ArgumentException("invalid data loader options: " + string.Join("; ", errors), nameof(options));
        _load = load;
        _collate = collate;
        _describe = describe ?? (i => $"sample {i}");
        Options = options;
    }

    public DataLoaderOptions Options { get; }

    /// <summary>Number of batches an epoch over <paramref name="count"/> indices yields.</summary>
    public int BatchCount(int count) => Options.DropLast ? count / Options.BatchSize : (count + Options.BatchSize - 1) / Options.BatchSize;

    /// <summary>
    /// The batches of one epoch over <paramref name="order"/> (dataset indices, repeats allowed). Work starts on the
    /// first MoveNext and stops when the enumerator is disposed.
    /// </summary>
    public IEnumerable<LoadedBatch<TBatch>> Epoch(int epoch, IReadOnlyList<int> order, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(order);
        var snapshot = order.ToArray();
        return Iterate(epoch, snapshot, cancellationToken);
    }

    private IEnumerable<LoadedBatch<TBatch>> Iterate(int epoch, int[] order, CancellationToken cancellationToken)
    {
        var run = new EpochRun(this, epoch, order, cancellationToken);
        lock (_runs)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _runs.Add(run);
        }
        try
        {
            run.Start();
            for (int b = 0; b < run.BatchCount; b++) yield return run.Take(b);
        }
        finally
        {
            run.Dispose();
            lock (_runs) _runs.Remove(run);
        }
    }

    /// <summary>Stops every running epoch and waits for its threads.</summary>
    public void Dispose()
    {
        EpochRun[] runs;
        lock (_runs)
        {
            if (_disposed) return;
            _disposed = true;
            runs = [.. _runs];
        }
        foreach (var run in runs) run.Dispose();
    }

    private sealed class EpochRun : IDisposable
    {
        private readonly DataLoader<TItem, TBatch> _owner;
        private readonly int _epoch;
        private readonly int[] _order;
        private readonly int _batchSize;
        private readonly CancellationTokenSource _cts;
        // Synchronous continuations let a write wake a blocked worker directly, without a thread-pool hop: loader
        // threads must keep running when the pool is busy or starved.
        private readonly Channel<int> _positions = Channel.CreateUnbounded<int>(
            new UnboundedChannelOptions { AllowSynchronousContinuations = true });
        private readonly TaskCompletionSource<TBatch>[] _batches;
        private readonly TItem[]?[] _items;
        private readonly int[] _remaining;
        private readonly int[] _claimed;  // 0 pending, 1 handed to the consumer, 2 reclaimed by Dispose
        private readonly List<Thread> _threads = [];
        private int _dispatched;  // batches whose positions have been queued
        private int _disposed;

        public EpochRun(DataLoader<TItem, TBatch> owner, int epoch, int[] order, CancellationToken cancellationToken)
        {
            _owner = owner;
            _epoch = epoch;
            _order = order;
            _batchSize = owner.Options.BatchSize;
            BatchCount = owner.BatchCount(order.Length);
            _cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            _batches = new TaskCompletionSource<TBatch>[BatchCount];
            _items = new TItem[]?[BatchCount];
            _remaining = new int[BatchCount];
            _claimed = new int[BatchCount];
            for (int b = 0; b < BatchCount; b++)
            {
                _batches[b] = new TaskCompletionSource<TBatch>(TaskCreationOptions.RunContinuationsAsynchronously);
                int size = Math.Min(_batchSize, order.Length - b * _batchSize);
                _items[b] = new TItem[size];
                _remaining[b] = size;
            }
        }

        public int BatchCount { get; }

        /// <summary>Queues the first batches and starts the workers; called on the consumer thread.</summary>
        public void Start()
        {
            if (BatchCount == 0) return;
            while (_dispatched < Math.Min(BatchCount, _owner.Options.PrefetchBatches)) Dispatch();
            int workers = Math.Min(_owner.Options.Workers, _order.Length);
            for (int i = 0; i < workers; i++)
            {
                var thread = new Thread(WorkerLoop) { IsBackground = true, Name = $"data-loader-{_epoch}-{i}" };
                _threads.Add(thread);
                thread.Start();
            }
        }

        /// <summary>Queues the positions of the next batch. Only the consumer thread dispatches, which bounds the
        /// work ahead of it to the prefetch depth.</summary>
        private void Dispatch()
        {
            int b = _dispatched++;
            int end = Math.Min((b + 1) * _batchSize, _order.Length);
            for (int p = b * _batchSize; p < end; p++) _positions.Writer.TryWrite(p);
            if (_dispatched == BatchCount) _positions.Writer.TryComplete();
        }

        private void WorkerLoop()
        {
            var token = _cts.Token;
            var reader = _positions.Reader;
            try
            {
                while (reader.WaitToReadAsync(token).AsTask().GetAwaiter().GetResult())
                {
                    while (!token.IsCancellationRequested && reader.TryRead(out int position)) Work(position);
                }
            }
            catch (OperationCanceledException)
            {
            }
        }

        private void Work(int position)
        {
            int b = position / _batchSize;
            var slot = _batches[b];
            if (slot.Task.IsCompleted) return;  // an earlier item of this batch failed
            int index = _order[position];
            TItem item;
            try
            {
                item = _owner._load(index, _epoch);
            }
            catch (OperationCanceledException) when (_cts.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                string what = Describe(index);
                slot.TrySetException(new DataLoaderException(
                    $"data loader: {what} failed in epoch {_epoch} (batch {b}): {e.Message}", e, _epoch, index, b));
                return;
            }

            var items = _items[b];
            if (items is null) return;
            items[position - b * _batchSize] = item;
            if (Interlocked.Decrement(ref _remaining[b]) != 0) return;

            try
            {
                var batch = _owner._collate(items);
                _items[b] = null;
                // A slot already completed means the run was stopped; Dispose, which waits for the workers, frees
                // successful batches nobody took.
                if (!slot.TrySetResult(batch)) DisposeBatch(batch);
            }
            catch (Exception e)
            {
                slot.TrySetException(new DataLoaderException(
                    $"data loader: collating batch {b} of epoch {_epoch} failed: {e.Message}", e, _epoch, null, b));
            }
        }

        private string Describe(int index)
        {
            try
            {
                return _owner._describe(index);
            }
            catch (Exception e)
            {
                return $"sample {index} (no description: {e.Message})";
            }
        }

        public LoadedBatch<TBatch> Take(int b)
        {
            var task = _batches[b].Task;
            var watch = Stopwatch.StartNew();
            try
            {
                // A plain blocking wait: completion signals it directly, with no thread-pool continuation.
                task.Wait(_cts.Token);
            }
            catch (AggregateException)
            {
                // Rethrown unwrapped below.
            }
            finally
            {
                watch.Stop();
            }
            var batch = task.GetAwaiter().GetResult();
            // Handed out: from now on the consumer owns it, so Dispose must not touch it.
            if (Interlocked.CompareExchange(ref _claimed[b], 1, 0) != 0)
                throw new ObjectDisposedException(nameof(DataLoader<TItem, TBatch>), "the data loader was stopped while the batch was taken");
            if (_dispatched < BatchCount && Volatile.Read(ref _disposed) == 0) Dispatch();
            return new LoadedBatch<TBatch>(b, batch, watch.Elapsed);
        }

        private static void DisposeBatch(TBatch batch)
        {
            if (batch is IDisposable d) d.Dispose();
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            _cts.Cancel();
            _positions.Writer.TryComplete();
            foreach (var thread in _threads) thread.Join();
            // Workers have stopped: anything still completed here was never handed out.
            for (int b = 0; b < BatchCount; b++)
            {
                var slot = _batches[b];
                slot.TrySetCanceled();
                if (Interlocked.CompareExchange(ref _claimed[b], 2, 0) == 0 && slot.Task.IsCompletedSuccessfully)
                    DisposeBatch(slot.Task.Result);
            }
            _cts.Dispose();
        }
    }
}
