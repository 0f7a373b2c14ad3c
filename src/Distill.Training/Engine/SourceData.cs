using Distill.Pose.Datasets;
using Distill.Pose.Evaluation;
using Distill.Pose.Keypoints;
using Distill.Training.Config.Schema;

namespace Distill.Training.Engine;

/// <summary>One data source of an experiment: its train split and (optionally) its validation split, in its own keypoint set.</summary>
public sealed class SourceData
{
    public required DataSourceOptions Options { get; init; }
    public required KeypointSet KeypointSet { get; init; }
    public PoseDataset? Train { get; init; }
    public PoseDataset? Val { get; init; }

    public string Name => Options.Name;

    /// <summary>
    /// The validation split's head boxes came from evaluation.mpii_gt (mpii_gt_val.mat): PCKh follows mmpose's rule
    /// for that file (predictions + 1 px, strict threshold).
    /// </summary>
    public bool PckhFromMpiiGt { get; init; }

    public static KeypointSet DefaultSet(DataSourceOptions s) =>
        KeypointSet.FromName(s.KeypointSet ?? (s.Format == DataFormat.Coco ? "coco17" : "mpii16"));

    /// <summary>
    /// Loads a split and checks its images (<see cref="ImagePreflight"/>): bad ones fail the load, all named at once,
    /// or with skip_bad are left out and counted in the split's report. Relative paths are taken from the working directory.
    /// </summary>
    public static PoseDataset LoadSplit(DataSourceOptions s, KeypointSet set, string annFile, string imgDir, bool evaluation,
        IReadOnlyList<BoundingBox>? headBoxes = null)
    {
        var split = LoadSplit(s, set, annFile, imgDir, evaluation, excluded: null, headBoxes);
        var bad = ImagePreflight.Check(Enumerable.Range(0, split.Count).Select(i => split[i].ImagePath));
        if (bad.Count == 0) return split;
        if (!s.SkipBad)
            throw new DatasetException(Path.GetFullPath(annFile), null, null, null,
                $"data source '{s.Name}': {bad.Count} image(s) cannot be used (skip_bad: true leaves them out):{Environment.NewLine}" +
                ImagePreflight.Describe(bad));
        return LoadSplit(s, set, annFile, imgDir, evaluation, bad.Select(b => b.Path).ToHashSet(StringComparer.Ordinal), headBoxes);
    }

    private static PoseDataset LoadSplit(DataSourceOptions s, KeypointSet set, string annFile, string imgDir, bool evaluation,
        HashSet<string>? excluded, IReadOnlyList<BoundingBox>? headBoxes)
    {
        annFile = Path.GetFullPath(annFile);
        imgDir = Path.GetFullPath(imgDir);
        if (!File.Exists(annFile)) throw new FileNotFoundException($"data source '{s.Name}': annotation file not found: {annFile}", annFile);
        if (!Directory.Exists(imgDir)) throw new DirectoryNotFoundException($"data source '{s.Name}': image directory not found: {imgDir}");
        return s.Format switch
        {
            DataFormat.Coco => CocoKeypointDataset.Load(annFile, new CocoLoadOptions
            {
                Mode = evaluation ? DatasetMode.Evaluation : DatasetMode.Train,
                ImageRoot = imgDir,
                KeypointSet = set,
                SourceName = s.Name,
                SkipBad = s.SkipBad,
                AllowOutsideRoot = s.AllowOutsideRoot,
                ExcludedImages = excluded,
                DetectionsPath = evaluation && s.BboxFile is not null ? Path.GetFullPath(s.BboxFile) : null,
            }),
            DataFormat.Mpii => MpiiDataset.Load(annFile, new MpiiLoadOptions
            {
                ImageRoot = imgDir,
                KeypointSet = set,
                SourceName = s.Name,
                SkipBad = s.SkipBad,
                AllowOutsideRoot = s.AllowOutsideRoot,
                ExcludedImages = excluded,
                HeadBoxes = headBoxes,
            }),
            _ => throw new ArgumentException($"data source '{s.Name}': unknown format {s.Format}"),
        };
    }

    /// <param name="mpiiGt">evaluation.mpii_gt: head boxes for the validation split of an MPII-format source.</param>
    public static SourceData Load(DataSourceOptions s, bool train, bool val, string? mpiiGt = null)
    {
        var set = DefaultSet(s);
        bool useGt = mpiiGt is not null && s.Format == DataFormat.Mpii && val && s.ValAnnFile is not null;
        var headBoxes = useGt ? MpiiGtHeadBoxes(s, mpiiGt!) : null;
        // The training split first, so its problems are reported before the validation split's.
        var trainSplit = train ? LoadSplit(s, set, s.AnnFile, s.ImgDir, evaluation: false) : null;
        PoseDataset? valSplit = null;
        if (val && s.ValAnnFile is not null)
        {
            try
            {
                valSplit = LoadSplit(s, set, s.ValAnnFile, s.ValImgDir ?? s.ImgDir, evaluation: true, headBoxes);
            }
            catch (DatasetException e) when (useGt && e.Key == "headboxes")
            {
                throw new DatasetException(e.FilePath, null, null, null,
                    $"evaluation.mpii_gt {Path.GetFullPath(mpiiGt!)} does not match data source '{s.Name}': {e.Detail} " +
                    "(mpii_gt_val.mat lists the people of mmpose's mpii_val.json, in that order)", e);
            }
        }
        return new SourceData
        {
            Options = s,
            KeypointSet = set,
            Train = trainSplit,
            Val = valSplit,
            PckhFromMpiiGt = useGt,
        };
    }

    private static IReadOnlyList<BoundingBox> MpiiGtHeadBoxes(DataSourceOptions s, string mpiiGt)
    {
        string path = Path.GetFullPath(mpiiGt);
        if (!File.Exists(path))
            throw new FileNotFoundException($"evaluation.mpii_gt: file not found: {path} (used for data source '{s.Name}')", path);
        try
        {
            return MpiiGroundTruth.Load(path)
                .Select(r => BoundingBox.FromCorners((float)r.HeadBox[0], (float)r.HeadBox[1], (float)r.HeadBox[2], (float)r.HeadBox[3]))
                .ToList();
        }
        catch (Exception e) when (e is FormatException or NotSupportedException or KeyNotFoundException)
        {
            throw new DatasetException(path, null, null, null, $"evaluation.mpii_gt: {e.Message}", e);
        }
    }
}
