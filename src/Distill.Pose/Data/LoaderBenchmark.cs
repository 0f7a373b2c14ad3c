using System.Diagnostics;
using Distill.Pose.Codecs;
using Distill.Pose.Transforms;

namespace Distill.Pose.Data;

/// <summary>What <see cref="LoaderBenchmark"/> measured.</summary>
public sealed record LoaderBenchmarkResult(int Workers, int BatchSize, int Images, int Batches, TimeSpan Elapsed, TimeSpan DataWait)
{
    public double ImagesPerSecond => Images / Elapsed.TotalSeconds;

    /// <summary>Share of the wall time the consumer spent blocked on data (1 when it does nothing else).</summary>
    public double DataWaitFraction => DataWait.TotalSeconds / Elapsed.TotalSeconds;

    public override string ToString() =>
        $"{ImagesPerSecond:F1} images/s with {Workers} workers (batch {BatchSize}, {Images} images in {Elapsed.TotalSeconds:F2} s)";
}

/// <summary>
/// Measures top-down loader throughput: decode (no cache), full stage-1 augmentation, target encoding and collation,
/// with a consumer that only disposes the batches. Not a test: numbers depend on the machine.
/// </summary>
public static class LoaderBenchmark
{
    /// <summary>Runs epochs over <paramref name="samples"/> (repeated to fill batches) for about <paramref name="seconds"/>.</summary>
    public static LoaderBenchmarkResult Run(IReadOnlyList<TopdownSample> samples, TopdownPipeline pipeline, int workers, double seconds,
        int batchSize = 32, TopdownAugmentation? augmentation = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentNullException.ThrowIfNull(pipeline);
        if (samples.Count == 0) throw new ArgumentException("no samples to load", nameof(samples));
        if (!(seconds > 0)) throw new ArgumentOutOfRangeException(nameof(seconds), seconds, "must be positive");

        var options = new TopdownLoaderOptions
        {
            Loader = new DataLoaderOptions { BatchSize = batchSize, Workers = workers, PrefetchBatches = Math.Max(2, workers) },
        };
        using var loader = new TopdownDataLoader(samples, pipeline, augmentation ?? TopdownAugmentation.RtmposeStage1, options);
        // Several batches per epoch so that epoch start-up does not dominate.
        int length = Math.Max(samples.Count, 8 * batchSize);
        var order = Enumerable.Range(0, length).Select(i => i % samples.Count).ToArray();

        // One untimed batch warms up the JIT and the native library.
        foreach (var warm in loader.Epoch(-1, order[..Math.Min(batchSize, order.Length)], cancellationToken)) warm.Value.Dispose();

        int images = 0, batches = 0;
        var wait = TimeSpan.Zero;
        var watch = Stopwatch.StartNew();
        for (int epoch = 0; watch.Elapsed.TotalSeconds < seconds; epoch++)
        {
            foreach (var batch in loader.Epoch(epoch, order, cancellationToken))
            {
                images += batch.Value.Count;
                batches++;
                wait += batch.DataWait;
                batch.Value.Dispose();
                if (watch.Elapsed.TotalSeconds >= seconds) break;
            }
        }
        watch.Stop();
        return new LoaderBenchmarkResult(workers, batchSize, images, batches, watch.Elapsed, wait);
    }

    /// <summary>
    /// Convenience for image files with person boxes only: K unlabelled keypoints, RTMPose's COCO 256 x 192 SimCC
    /// pipeline (sigma (4.9, 5.66), no label normalisation) and stage-1 augmentation.
    /// </summary>
    public static LoaderBenchmarkResult Run(IReadOnlyList<(string ImagePath, (double X, double Y, double Width, double Height) Bbox)> boxes,
        int workers, double seconds, int numKeypoints = 17, int batchSize = 32)
    {
        ArgumentNullException.ThrowIfNull(boxes);
        var samples = boxes.Select((b, i) => new TopdownSample
        {
            Id = i.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ImagePath = b.ImagePath,
            Bbox = b.Bbox,
            Keypoints = new float[2 * numKeypoints],
            Visibility = new float[numKeypoints],
        }).ToArray();
        var pipeline = new TopdownPipeline(new TopdownPipelineOptions
        {
            InputSize = (192, 256),
            Codec = new SimCCLabel((192, 256), (4.9, 5.66), splitRatio: 2.0, normalize: false),
            // Unlabelled keypoints: the flip only needs a valid permutation.
            FlipIndices = Enumerable.Range(0, numKeypoints).ToArray(),
        });
        return Run(samples, pipeline, workers, seconds, batchSize);
    }
}
