using System.Diagnostics;

namespace Distill.Pose.Synthetic;

/// <summary>
/// Generates synthetic pose datasets: articulated figures in cluttered scenes, written as a COCO person-keypoints set,
/// an MPII set in mmpose's layout, an AI Challenger set (COCO layout, as mmpose converts it) and a CrowdPose set.
/// <code>
/// DIR/coco/annotations/person_keypoints_{train,val}.json   DIR/coco/images/{train,val}/*.jpg
/// DIR/mpii/annotations/mpii_{train,val}.json               DIR/mpii/images/*.jpg
/// DIR/aic/annotations/aic_{train,val}.json                 DIR/aic/images/{train,val}/*.jpg
/// DIR/crowdpose/annotations/crowdpose_{train,val}.json     DIR/crowdpose/images/*.jpg
/// </code>
/// Output is byte-identical for the same options at any thread count: each image is drawn from a random stream
/// derived from (seed, dataset, index) alone and the annotation files carry no timestamps.
/// </summary>
public static class Synth
{
    private const int CocoDataset = 0, MpiiDataset = 1, AicDataset = 2, CrowdPoseDataset = 3;

    public static SynthResult Generate(SynthOptions options)
    {
        Validate(options);
        var clock = Stopwatch.StartNew();
        string root = Path.GetFullPath(options.OutDir);
        PrepareDirectory(root, options.Force);

        var jobs = new List<Job>();
        var (cocoTrain, cocoVal) = Split(options.CocoImages);
        var (mpiiTrain, mpiiVal) = Split(options.MpiiImages);
        string cocoDir = Path.Combine(root, "coco"), mpiiDir = Path.Combine(root, "mpii");
        if (options.CocoImages > 0)
        {
            Directory.CreateDirectory(Path.Combine(cocoDir, "annotations"));
            Directory.CreateDirectory(Path.Combine(cocoDir, "images", "train"));
            Directory.CreateDirectory(Path.Combine(cocoDir, "images", "val"));
            for (int i = 0; i < options.CocoImages; i++)
            {
                string split = i < cocoTrain ? "train" : "val";
                string name = $"{i + 1:D12}.jpg";
                jobs.Add(new Job(CocoDataset, i, name, Path.Combine(cocoDir, "images", split, name)));
            }
        }
        if (options.MpiiImages > 0)
        {
            Directory.CreateDirectory(Path.Combine(mpiiDir, "annotations"));
            Directory.CreateDirectory(Path.Combine(mpiiDir, "images"));
            for (int i = 0; i < options.MpiiImages; i++)
            {
                string name = $"{i + 1:D9}.jpg";
                jobs.Add(new Job(MpiiDataset, i, name, Path.Combine(mpiiDir, "images", name)));
            }
        }

        var (aicTrain, _) = Split(options.AicImages);
        var (crowdTrain, _) = Split(options.CrowdPoseImages);
        string aicDir = Path.Combine(root, "aic"), crowdDir = Path.Combine(root, "crowdpose");
        if (options.AicImages > 0)
        {
            Directory.CreateDirectory(Path.Combine(aicDir, "annotations"));
            for (int i = 0; i < options.AicImages; i++)
            {
                string split = i < aicTrain ? "train" : "val";
                Directory.CreateDirectory(Path.Combine(aicDir, "images", split));
                string name = $"{i + 1:x8}{i * 7919 % 65536:x4}.jpg"; // AIC names images by hash; any unique name does
                jobs.Add(new Job(AicDataset, i, name, Path.Combine(aicDir, "images", split, name)));
            }
        }
        if (options.CrowdPoseImages > 0)
        {
            Directory.CreateDirectory(Path.Combine(crowdDir, "annotations"));
            Directory.CreateDirectory(Path.Combine(crowdDir, "images"));
            for (int i = 0; i < options.CrowdPoseImages; i++)
            {
                string name = $"{100000 + i}.jpg";
                jobs.Add(new Job(CrowdPoseDataset, i, name, Path.Combine(crowdDir, "images", name)));
            }
        }

        var rendered = new RenderedImage[jobs.Count];
        Parallel.For(0, jobs.Count, new ParallelOptions { MaxDegreeOfParallelism = options.Threads }, k =>
        {
            var job = jobs[k];
            var rng = SynthRandom.For(options.Seed, job.Dataset, job.Index);
            var (image, persons) = SceneBuilder.Build(rng, options.Scene);
            File.WriteAllBytes(job.Path, image.EncodeJpeg(options.JpegQuality));
            rendered[k] = new RenderedImage(job.Index, job.FileName, image.Width, image.Height, persons);
        });

        var coco = rendered.Where((_, k) => jobs[k].Dataset == CocoDataset).ToList();
        var mpii = rendered.Where((_, k) => jobs[k].Dataset == MpiiDataset).ToList();
        var result = new SynthResult();
        if (options.CocoImages > 0)
        {
            string train = Path.Combine(cocoDir, "annotations", "person_keypoints_train.json");
            string val = Path.Combine(cocoDir, "annotations", "person_keypoints_val.json");
            long annId = 1;
            int nTrain = CocoWriter.Write(train, coco.Take(cocoTrain).ToList(), ref annId);
            int nVal = CocoWriter.Write(val, coco.Skip(cocoTrain).ToList(), ref annId);
            result = result with
            {
                CocoTrainImages = cocoTrain, CocoValImages = cocoVal, CocoTrainAnnotations = nTrain, CocoValAnnotations = nVal,
                CocoTrainJson = train, CocoValJson = val,
            };
        }
        if (options.MpiiImages > 0)
        {
            string train = Path.Combine(mpiiDir, "annotations", "mpii_train.json");
            string val = Path.Combine(mpiiDir, "annotations", "mpii_val.json");
            int nTrain = MpiiWriter.Write(train, mpii.Take(mpiiTrain).ToList());
            int nVal = MpiiWriter.Write(val, mpii.Skip(mpiiTrain).ToList());
            result = result with
            {
                MpiiTrainImages = mpiiTrain, MpiiValImages = mpiiVal, MpiiTrainRecords = nTrain, MpiiValRecords = nVal,
                MpiiTrainJson = train, MpiiValJson = val,
            };
        }
        if (options.AicImages > 0)
        {
            var aic = rendered.Where((_, k) => jobs[k].Dataset == AicDataset).ToList();
            string train = Path.Combine(aicDir, "annotations", "aic_train.json");
            string val = Path.Combine(aicDir, "annotations", "aic_val.json");
            long annId = 1;
            CocoWriter.Write(train, aic.Take(aicTrain).ToList(), ref annId, CocoStyle.Aic);
            CocoWriter.Write(val, aic.Skip(aicTrain).ToList(), ref annId, CocoStyle.Aic);
            result = result with
            {
                AicTrainImages = aicTrain, AicValImages = options.AicImages - aicTrain, AicTrainJson = train, AicValJson = val,
            };
        }
        if (options.CrowdPoseImages > 0)
        {
            var crowd = rendered.Where((_, k) => jobs[k].Dataset == CrowdPoseDataset).ToList();
            string train = Path.Combine(crowdDir, "annotations", "crowdpose_train.json");
            string val = Path.Combine(crowdDir, "annotations", "crowdpose_val.json");
            long annId = 1;
            CocoWriter.Write(train, crowd.Take(crowdTrain).ToList(), ref annId, CocoStyle.CrowdPose);
            CocoWriter.Write(val, crowd.Skip(crowdTrain).ToList(), ref annId, CocoStyle.CrowdPose);
            result = result with
            {
                CrowdPoseTrainImages = crowdTrain, CrowdPoseValImages = options.CrowdPoseImages - crowdTrain,
                CrowdPoseTrainJson = train, CrowdPoseValJson = val,
            };
        }
        return result with { Elapsed = clock.Elapsed };
    }

    /// <summary>90/10 train/val: a tenth (rounded, at least one once there are two images) goes to val.</summary>
    public static (int Train, int Val) Split(int images)
    {
        if (images < 2) return (images, 0);
        int val = Math.Max(1, (int)Math.Round(images * 0.1, MidpointRounding.AwayFromZero));
        return (images - val, val);
    }

    private sealed record Job(int Dataset, int Index, string FileName, string Path);

    private static void Validate(SynthOptions o)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(o.OutDir)) errors.Add("OutDir must name a directory");
        if (o.CocoImages < 0) errors.Add($"CocoImages must not be negative (got {o.CocoImages})");
        if (o.MpiiImages < 0) errors.Add($"MpiiImages must not be negative (got {o.MpiiImages})");
        if (o.AicImages < 0) errors.Add($"AicImages must not be negative (got {o.AicImages})");
        if (o.CrowdPoseImages < 0) errors.Add($"CrowdPoseImages must not be negative (got {o.CrowdPoseImages})");
        if (o.CocoImages <= 0 && o.MpiiImages <= 0 && o.AicImages <= 0 && o.CrowdPoseImages <= 0)
            errors.Add("at least one of CocoImages, MpiiImages, AicImages and CrowdPoseImages must be positive");
        if (o.Threads < 1) errors.Add($"Threads must be at least 1 (got {o.Threads})");
        if (o.JpegQuality is < 1 or > 100) errors.Add($"JpegQuality must be in 1..100 (got {o.JpegQuality})");
        if (errors.Count > 0) throw new ArgumentException("invalid synthetic dataset options: " + string.Join("; ", errors), nameof(o));
    }

    private static void PrepareDirectory(string root, bool force)
    {
        if (Path.GetPathRoot(root) == root) throw new IOException($"refusing to write a dataset into the file-system root '{root}'");
        if (File.Exists(root)) throw new IOException($"output path '{root}' is a file, not a directory");
        if (Directory.Exists(root) && Directory.EnumerateFileSystemEntries(root).Any())
        {
            if (!force) throw new IOException($"output directory '{root}' is not empty; pass --force to clear it and generate anew");
            foreach (var dir in Directory.EnumerateDirectories(root)) Directory.Delete(dir, recursive: true);
            foreach (var file in Directory.EnumerateFiles(root)) File.Delete(file);
        }
        Directory.CreateDirectory(root);
    }
}
