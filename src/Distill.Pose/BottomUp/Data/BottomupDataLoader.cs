using Distill.Pose.Data;
using Distill.Pose.Transforms;
using Distill.Torch;
using Distill.Torch.Vision;

namespace Distill.Pose.BottomUp.Data;

/// <summary>A collated bottom-up batch: inputs (N, 3, E, E), targets "cif" (N, K, 5, H, W) and "caf" (N, L, 9, H, W).</summary>
public sealed class BottomupBatch : IDisposable
{
    public required Tensor Input { get; init; }
    public required Dictionary<string, Tensor> Targets { get; init; }
    public required IReadOnlyList<long> ImageIds { get; init; }

    /// <summary>Each image's image-to-input map.</summary>
    public required IReadOnlyList<AffineMatrix> ImageToInput { get; init; }

    public int Count => ImageIds.Count;

    public static BottomupBatch Collate(IReadOnlyList<BottomupResult> items)
    {
        if (items.Count == 0) throw new ArgumentException("nothing to collate", nameof(items));
        int edge = items[0].Edge;
        var data = new float[items.Count * 3 * edge * edge];
        for (int i = 0; i < items.Count; i++)
        {
            if (items[i].Edge != edge) throw new ArgumentException($"image {items[i].ImageId} has edge {items[i].Edge}, the batch {edge}");
            items[i].Input.CopyTo(data, i * 3 * edge * edge);
        }
        return new BottomupBatch
        {
            Input = torch.FromArray(data, [items.Count, 3, edge, edge]),
            Targets = new Dictionary<string, Tensor>
            {
                [Heads.CifCafHead.CifName] = FieldTensor.Stack(items.Select(x => x.Cif).ToList()),
                [Heads.CifCafHead.CafName] = FieldTensor.Stack(items.Select(x => x.Caf).ToList()),
            },
            ImageIds = items.Select(x => x.ImageId).ToList(),
            ImageToInput = items.Select(x => x.ImageToInput).ToList(),
        };
    }

    public void Dispose()
    {
        Input.Dispose();
        foreach (var t in Targets.Values) t.Dispose();
    }
}

/// <summary>
/// Bottom-up training batches: decode, augment and encode the field targets on the loader's worker threads (see
/// <see cref="DataLoader{TItem,TBatch}"/>), deterministic for a (seed, epoch, index) whatever the thread count.
/// </summary>
public sealed class BottomupDataLoader : IDisposable
{
    private readonly IReadOnlyList<BottomupSample> _samples;
    private readonly Func<int, BottomupAugmentation> _augmentation;
    private readonly ImageCache? _cache;
    private readonly ulong _seed;
    private readonly DataLoader<BottomupResult, BottomupBatch> _loader;

    public BottomupDataLoader(IReadOnlyList<BottomupSample> samples, BottomupPipeline pipeline, Func<int, BottomupAugmentation> augmentation,
        ulong seed, DataLoaderOptions options, int imageCacheCapacity = 0)
    {
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentNullException.ThrowIfNull(pipeline);
        ArgumentNullException.ThrowIfNull(augmentation);
        _samples = samples;
        Pipeline = pipeline;
        _augmentation = augmentation;
        _seed = seed;
        _cache = imageCacheCapacity > 0 ? new ImageCache(imageCacheCapacity) : null;
        _loader = new DataLoader<BottomupResult, BottomupBatch>(Load, BottomupBatch.Collate, options, Describe);
    }

    public BottomupPipeline Pipeline { get; }

    public int Count => _samples.Count;

    public int BatchCount(int orderLength) => _loader.BatchCount(orderLength);

    public IEnumerable<LoadedBatch<BottomupBatch>> Epoch(int epoch, IReadOnlyList<int> order, CancellationToken cancellationToken = default)
    {
        for (int i = 0; i < order.Count; i++)
            if (order[i] < 0 || order[i] >= _samples.Count)
                throw new ArgumentOutOfRangeException(nameof(order), $"order[{i}] = {order[i]} is outside the {_samples.Count} samples");
        return _loader.Epoch(epoch, order, cancellationToken);
    }

    /// <summary>One sample through the pipeline on the calling thread, exactly as a worker would produce it.</summary>
    public BottomupResult Load(int index, int epoch)
    {
        var sample = _samples[index];
        var image = sample.Image ?? (_cache is null ? Image.Read(sample.ImagePath) : _cache.Get(sample.ImagePath));
        return Pipeline.Process(sample, image, _augmentation(epoch), _seed, epoch, index);
    }

    private string Describe(int index) => index >= 0 && index < _samples.Count ? _samples[index].Describe() : $"sample {index}";

    public void Dispose() => _loader.Dispose();
}
