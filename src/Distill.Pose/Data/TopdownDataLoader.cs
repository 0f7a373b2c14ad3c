using Distill.Pose.Transforms;
using Distill.Torch.Vision;

namespace Distill.Pose.Data;

/// <summary>
/// Top-down training batches from a list of samples: decode (optionally cached), run the
/// <see cref="TopdownPipeline"/> with the epoch's augmentation and the stream of (seed, epoch, dataset index), and
/// collate into <see cref="TopdownBatch"/>es, on background threads and in the order given.
/// </summary>
public sealed class TopdownDataLoader : IDisposable
{
    private readonly IReadOnlyList<TopdownSample> _samples;
    private readonly Func<int, TopdownAugmentation> _augmentation;
    private readonly ImageCache? _cache;
    private readonly DataLoader<TopdownResult, TopdownBatch> _loader;

    /// <param name="samples">The dataset; an epoch's order refers to positions in it.</param>
    /// <param name="pipeline">The fixed pipeline settings.</param>
    /// <param name="augmentation">The augmentation of each (0-based) epoch, e.g. <see cref="TwoStageSwitch.For"/>.</param>
    /// <param name="options">Seed, cache and batching.</param>
    public TopdownDataLoader(IReadOnlyList<TopdownSample> samples, TopdownPipeline pipeline, Func<int, TopdownAugmentation> augmentation,
        TopdownLoaderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentNullException.ThrowIfNull(pipeline);
        ArgumentNullException.ThrowIfNull(augmentation);
        options ??= new TopdownLoaderOptions();
        if (options.ImageCacheCapacity < 0)
            throw new ArgumentOutOfRangeException(nameof(options), options.ImageCacheCapacity, "image cache capacity must be non-negative");
        _samples = samples;
        Pipeline = pipeline;
        _augmentation = augmentation;
        Options = options;
        _cache = options.ImageCacheCapacity > 0 ? new ImageCache(options.ImageCacheCapacity) : null;
        _loader = new DataLoader<TopdownResult, TopdownBatch>(Load, TopdownCollate.Collate, options.Loader, Describe);
    }

    public TopdownDataLoader(IReadOnlyList<TopdownSample> samples, TopdownPipeline pipeline, TopdownAugmentation augmentation,
        TopdownLoaderOptions? options = null)
        : this(samples, pipeline, Constant(augmentation), options)
    {
    }

    public TopdownDataLoader(IReadOnlyList<TopdownSample> samples, TopdownPipeline pipeline, TwoStageSwitch stages,
        TopdownLoaderOptions? options = null)
        : this(samples, pipeline, (stages ?? throw new ArgumentNullException(nameof(stages))).For, options)
    {
    }

    private static Func<int, TopdownAugmentation> Constant(TopdownAugmentation augmentation)
    {
        ArgumentNullException.ThrowIfNull(augmentation);
        augmentation.EnsureValid();
        return _ => augmentation;
    }

    public TopdownPipeline Pipeline { get; }

    public TopdownLoaderOptions Options { get; }

    public int Count => _samples.Count;

    public int BatchCount(int orderLength) => _loader.BatchCount(orderLength);

    /// <summary>The batches of one epoch over <paramref name="order"/> (positions in the sample list).</summary>
    public IEnumerable<LoadedBatch<TopdownBatch>> Epoch(int epoch, IReadOnlyList<int> order, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(order);
        for (int i = 0; i < order.Count; i++)
            if (order[i] < 0 || order[i] >= _samples.Count)
                throw new ArgumentOutOfRangeException(nameof(order), $"order[{i}] = {order[i]} is outside the {_samples.Count} samples");
        return _loader.Epoch(epoch, order, cancellationToken);
    }

    /// <summary>One sample through the pipeline on the calling thread, exactly as a worker would produce it.</summary>
    public TopdownResult Load(int index, int epoch)
    {
        var sample = _samples[index];
        var image = sample.Image ?? ReadImage(sample);
        return Pipeline.Process(sample, image, _augmentation(epoch), Options.Seed, epoch, index);
    }

    private Image ReadImage(TopdownSample sample)
    {
        if (string.IsNullOrEmpty(sample.ImagePath)) throw new ArgumentException($"{sample.Describe()}: no image and no image path");
        return _cache is null ? Image.Read(sample.ImagePath) : _cache.Get(sample.ImagePath);
    }

    private string Describe(int index) => index >= 0 && index < _samples.Count ? _samples[index].Describe() : $"sample {index}";

    public void Dispose() => _loader.Dispose();
}
