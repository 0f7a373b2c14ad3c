using Distill.Pose.BottomUp;
using Distill.Pose.BottomUp.Data;
using Distill.Pose.BottomUp.Evaluation;
using Distill.Pose.Datasets;
using Distill.Pose.Evaluation;
using Distill.Torch;
using Distill.Training.Config.Schema;
using Distill.Training.Engine;

namespace Distill.Training.Evaluation;

/// <summary>One source's validation split as a bottom-up model is scored on it: whole images and the file's ground truth.</summary>
public sealed record BottomupValSplit(string Name, IReadOnlyList<BottomupSample> Samples, CocoKeypointGroundTruth GroundTruth);

/// <summary>
/// COCO AP of a bottom-up model on every validation split of an experiment (what `distill eval` prints and training
/// validates): each whole image scaled so its long side is the evaluation edge, poses decoded and scored by the COCO
/// evaluator, reported as SOURCE/AP, SOURCE/AP50, SOURCE/AP75 and SOURCE/AR.
/// </summary>
public static class BottomupValidation
{
    /// <summary>The validation split of <paramref name="source"/> (a COCO keypoint file), every image kept (an empty one can still hold false positives).</summary>
    public static BottomupValSplit Load(DataSourceOptions source)
    {
        if (source.ValAnnFile is null) throw new ArgumentException($"data source '{source.Name}' has no val_ann_file");
        var data = SourceData.Load(source, train: false, val: true);
        var images = (CocoKeypointDataset)data.Val!;
        var truth = CocoKeypointGroundTruth.Load(Path.GetFullPath(source.ValAnnFile));
        return new BottomupValSplit(source.Name, BottomupSample.FromCoco(images, truth, withPersonsOnly: false), truth);
    }

    /// <summary>The splits of every source with a validation file; a source that is not COCO is an error naming it.</summary>
    public static List<BottomupValSplit> LoadAll(IReadOnlyList<DataSourceOptions> sources)
    {
        CheckFormats(sources);
        return sources.Where(s => s.ValAnnFile is not null).Select(Load).ToList();
    }

    /// <summary>Bottom-up models read COCO keypoint files only.</summary>
    public static void CheckFormats(IReadOnlyList<DataSourceOptions> sources)
    {
        for (int i = 0; i < sources.Count; i++)
            if (sources[i].Format != DataFormat.Coco)
                throw new TrainingException($"data.sources.{i}.format: a bottom-up model reads COCO keypoint files (whole images with every person), " +
                    $"not {sources[i].Format.ToString().ToLowerInvariant()} (source '{sources[i].Name}')");
    }

    public static Dictionary<string, double> Evaluate(BottomupPoseEstimator model, IEnumerable<BottomupValSplit> splits, int edge, int batchSize,
        Device device, Action<string, int, int>? progress = null)
    {
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var split in splits)
        {
            foreach (var (k, v) in Score(model, split, BottomupEvaluation.Predict(model, split.Samples, edge, batchSize, device))) metrics[k] = v;
            progress?.Invoke(split.Name, split.Samples.Count, split.Samples.Count);
        }
        return metrics;
    }

    /// <summary>SOURCE/AP, AP50, AP75 and AR of <paramref name="results"/> (the split's decoded poses) against its ground truth.</summary>
    public static Dictionary<string, double> Score(BottomupPoseEstimator model, BottomupValSplit split, IReadOnlyList<CocoKeypointResult> results)
    {
        var stats = new CocoKeypointEvaluator(model.Meta.Sigmas).Evaluate(split.GroundTruth, results);
        return new Dictionary<string, double>(StringComparer.Ordinal)
        {
            [$"{split.Name}/AP"] = stats.AP,
            [$"{split.Name}/AP50"] = stats.AP50,
            [$"{split.Name}/AP75"] = stats.AP75,
            [$"{split.Name}/AR"] = stats.AR,
        };
    }
}
