using Distill.Pose.Codecs;
using Distill.Pose.Data;
using Distill.Pose.Datasets;
using Distill.Pose.Keypoints;
using Distill.Pose.Transforms;
using Distill.Torch.Vision;
using Distill.Training.Config.Schema;
using Distill.Training.Distributed;

namespace Distill.Training.Engine;

/// <summary>
/// The training input of an experiment: every source converted to the student's keypoint set, the ratio sampler,
/// the augmentation pipeline (with teacher views) and the background loader.
/// </summary>
public sealed class TrainingData : IDisposable
{
    public IReadOnlyList<SourceData> Sources { get; }
    public CombinedDataset Combined { get; }
    public RatioEpochSampler Sampler { get; }
    public TopdownPipeline Pipeline { get; }
    public DataLoader<TopdownResult, TopdownBatch> Loader { get; }
    private readonly TwoStageSwitch? _stages;
    private readonly TopdownAugmentation _stage1;
    private readonly ulong _seed;
    private readonly DistributedContext _dist;
    private volatile int _epoch;

    /// <param name="dist">In a data-parallel run each worker trains on its own shard of every epoch's order.</param>
    public TrainingData(ExperimentOptions o, IReadOnlyList<SourceData> sources, KeypointSet studentSet, IKeypointCodec codec,
        IReadOnlyList<(int Width, int Height)> teacherInputSizes, DistributedContext? dist = null)
    {
        _dist = dist ?? DistributedContext.Single;
        Sources = sources;
        var train = sources.Where(s => s.Train is not null).ToList();
        if (train.Count == 0) throw new ArgumentException("data.sources: no source has training data");
        Combined = new CombinedDataset(studentSet, train.Select(s => new CombinedSource(s.Train!, s.Options.Ratio)), "train");
        Sampler = new RatioEpochSampler(Combined);
        if (Sampler.EpochLength == 0) throw new ArgumentException("data.sources: the ratios select no training sample");
        _seed = (ulong)o.Seed;
        Pipeline = new TopdownPipeline(new TopdownPipelineOptions
        {
            InputSize = (o.Model.InputSize[0], o.Model.InputSize[1]),
            Codec = codec,
            Padding = o.Data.Pipeline.Padding,
            Mean = o.Model.Mean,
            Std = o.Model.Std,
            FlipIndices = studentSet.FlipIndices,
            UpperBodyIds = studentSet.UpperBody,
            LowerBodyIds = studentSet.LowerBody,
            TeacherInputSizes = teacherInputSizes,
        });
        _stage1 = Augmentation(o.Data.Pipeline);
        if (o.Data.Stage2Pipeline is { } s2 && o.Data.Stage2Epochs > 0)
            _stages = new TwoStageSwitch(_stage1, Augmentation(s2), o.Train.MaxEpochs, o.Data.Stage2Epochs);
        Loader = new DataLoader<TopdownResult, TopdownBatch>(Load, TopdownCollate.Collate,
            new DataLoaderOptions { BatchSize = o.Data.BatchSize, Workers = Math.Max(1, o.Data.NumWorkers), PrefetchBatches = o.Data.Prefetch, DropLast = true },
            i => Describe(i));
    }

    public static TopdownAugmentation Augmentation(PipelineOptions p) => new()
    {
        FlipProb = p.FlipProb,
        HalfBodyProb = p.HalfBodyProb,
        ShiftFactor = p.ShiftFactor,
        ShiftProb = p.ShiftProb,
        ScaleFactor = (p.ScaleFactor[0], p.ScaleFactor[1]),
        RotateFactor = p.RotateFactor,
        RotateProb = p.RotateProb,
        HueDelta = p.Hsv.Hue,
        SaturationDelta = p.Hsv.Sat,
        ValueDelta = p.Hsv.Val,
        BlurProb = p.BlurProb,
        MedianBlurProb = p.MedianBlurProb,
        CoarseDropoutProb = p.DropoutProb,
        CoarseDropoutHeight = (p.DropoutSize[0], p.DropoutSize[1]),
        CoarseDropoutWidth = (p.DropoutSize[0], p.DropoutSize[1]),
    };

    /// <summary>Samples this worker draws per epoch: the whole order, or its shard (padded, so every worker has as many).</summary>
    public int SamplesPerEpoch => (Sampler.EpochLength + _dist.WorldSize - 1) / _dist.WorldSize;

    public int BatchesPerEpoch => Loader.BatchCount(SamplesPerEpoch);

    /// <summary>The batches of an epoch, skipping the first <paramref name="skipBatches"/> (resume inside an epoch).</summary>
    public IEnumerable<LoadedBatch<TopdownBatch>> Epoch(int epoch, int skipBatches, CancellationToken ct)
    {
        _epoch = epoch;
        // The ratio sampler's order (seed and epoch decide it) is cut into per-worker shards as DistributedSampler does.
        var order = _dist.Shard(Sampler.Indices((long)_seed, epoch));
        int skip = Math.Min(order.Length, skipBatches * Loader.Options.BatchSize);
        return Loader.Epoch(epoch, order[skip..], ct);
    }

    private string Describe(int index)
    {
        var inst = Combined[index];
        return $"{inst.SourceName} instance {inst.InstanceId} (image '{inst.ImagePath}')";
    }

    private TopdownResult Load(int index, int epoch)
    {
        var inst = Combined[index];
        var sample = new TopdownSample
        {
            Id = $"{inst.SourceName}:{inst.InstanceId}",
            ImagePath = inst.ImagePath,
            Bbox = (inst.Bbox.X, inst.Bbox.Y, inst.Bbox.Width, inst.Bbox.Height),
            Keypoints = inst.Keypoints,
            Visibility = inst.Visibility,
            KeypointWeights = inst.KeypointWeights,
            Source = inst.SourceName,
        };
        var image = PoseImageLoader.Load(inst.ImagePath);
        var aug = _stages?.For(epoch) ?? _stage1;
        // Per-sample randomness depends on (seed, epoch, dataset index) only, never on thread scheduling.
        return Pipeline.Process(sample, image, aug, _seed, epoch, index);
    }

    public void Dispose() => Loader.Dispose();
}
