using Distill.Pose.Models.Checkpoints;
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Distill.Pose.Datasets;
using Distill.Pose.Drawing;
using Distill.Pose.Evaluation;
using Distill.Pose.Transforms;
using Distill.Torch;
using Distill.Torch.Vision;
using Distill.Config;
using Distill.Pose.Models;

namespace Distill.Cli.Commands;

/// <summary>
/// `distill predict`: top-down inference on images, writing COCO-results JSON and skeleton overlays. Each person's
/// score is the instance score `distill eval` ranks by, after the same OKS-NMS per image.
/// </summary>
internal static class PredictCommand
{
    public static Command Create()
    {
        var config = CommonOptions.Config();
        var checkpoint = CommonOptions.Checkpoint(required: true);
        var imagesOpt = new Option<string>("--images") { Description = "An image file or a folder of images.", Required = true };
        var boxes = new Option<string?>("--boxes") { Description = "Person detections in COCO results format (image_id, bbox, score)." };
        var bbox = new Option<string?>("--bbox") { Description = "One box x,y,w,h for every image (default: the whole image)." };
        var outDir = new Option<string>("--out") { Description = "Output folder for predictions.json and overlay PNGs.", Required = true };
        var flip = new Option<bool>("--flip-test") { Description = "Average with the prediction on the mirrored crop." };
        var radius = new Option<double>("--radius") { Description = "Keypoint radius in pixels.", DefaultValueFactory = _ => 3 };
        var thickness = new Option<int>("--thickness") { Description = "Skeleton line thickness.", DefaultValueFactory = _ => 2 };
        var kptThr = new Option<double>("--kpt-thr") { Description = "Draw keypoints whose score reaches this.", DefaultValueFactory = _ => 0.3 };
        var cmd = new Command("predict", "Predict keypoints on images with a trained model (top-down, boxes from a detection file or given).")
        {
            config, checkpoint, imagesOpt, boxes, bbox, outDir, flip, radius, thickness, kptThr,
        };
        cmd.SetAction(r => Run(r.GetValue(config)!, r.GetValue(checkpoint)!, r.GetValue(imagesOpt)!, r.GetValue(boxes), r.GetValue(bbox),
            r.GetValue(outDir)!, r.GetValue(flip), r.GetValue(radius), r.GetValue(thickness), r.GetValue(kptThr)));
        return cmd;
    }

    private static readonly string[] Extensions = [".jpg", ".jpeg", ".png", ".bmp"];

    private static int Run(string configPath, string checkpoint, string images, string? boxesPath, string? bboxText, string outDir,
        bool flip, double radius, int thickness, double kptThr)
    {
        var mo = ModelConfig.Load(configPath);
        int batchSize = BatchSize(configPath);
        var (model, kps) = ModelFactory.Build(mo);
        using var _m = model;
        WeightsLoader.LoadInto(model, Path.GetFullPath(checkpoint));
        model.Eval();

        var files = File.Exists(images) ? [Path.GetFullPath(images)]
            : Directory.Exists(images) ? Directory.GetFiles(images).Where(f => Extensions.Contains(Path.GetExtension(f).ToLowerInvariant())).Order(StringComparer.Ordinal).ToList()
            : throw new FileNotFoundException($"predict: no such image or folder: {images}");
        // COCO-style names (000000000785.jpg) carry their image id.
        var idOf = files.ToDictionary(f => f, f => long.TryParse(Path.GetFileNameWithoutExtension(f), NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : -1);
        var jobs = new List<(string File, long ImageId, BoundingBox? Box, double Score)>();
        if (boxesPath is not null)
        {
            var byId = files.Where(f => idOf[f] >= 0).ToDictionary(f => idOf[f], f => f);
            var dets = PersonDetectionReader.Read(boxesPath, 0f, byId.Keys.ToHashSet(), skipBad: true);
            foreach (var id in dets.Report.UnknownImageIds) Console.Error.WriteLine($"predict: {boxesPath}: detections for image id {id} match no image");
            foreach (var d in dets.Detections) jobs.Add((byId[d.ImageId], d.ImageId, d.Bbox, d.Score));
        }
        else
        {
            BoundingBox? fixedBox = null;
            if (bboxText is not null)
            {
                var v = bboxText.Split(',').Select(s => double.Parse(s, CultureInfo.InvariantCulture)).ToArray();
                if (v.Length != 4 || v[2] <= 1 || v[3] <= 1) throw new ArgumentException($"--bbox: expected x,y,w,h with w, h > 1, got '{bboxText}'");
                fixedBox = new BoundingBox((float)v[0], (float)v[1], (float)v[2], (float)v[3]);
            }
            foreach (var f in files) jobs.Add((f, idOf[f], fixedBox, 1.0));
        }

        Directory.CreateDirectory(outDir);
        var pipeline = new TopdownPipeline(new TopdownPipelineOptions { InputSize = model.InputSize, Mean = model.Mean, Std = model.Std });
        // Every file is one image for OKS-NMS, whether or not its name carries a COCO id.
        var imageOf = files.Select((f, i) => (f, i)).ToDictionary(x => x.f, x => (long)x.i);
        var people = new List<(int Job, TopdownPrediction Prediction)>();
        var overlays = new Dictionary<string, Image>();
        int failed = 0;
        var skeleton = kps.Skeleton.Select(s => (s.From, s.To)).ToList();
        for (int start = 0; start < jobs.Count; start += batchSize)
        {
            var batch = new List<(int Job, BoundingBox Box, TopdownResult Crop)>();
            for (int j = start; j < Math.Min(jobs.Count, start + batchSize); j++)
            {
                var (file, _, box, _) = jobs[j];
                Image img;
                try
                {
                    img = PoseImageLoader.Load(file);
                }
                catch (Exception e) when (e is IOException or InvalidDataException or TorchException)
                {
                    Console.Error.WriteLine($"predict: skipping {file}: {ErrorText.Describe(e)}");
                    failed++;
                    continue;
                }
                var b = box ?? new BoundingBox(0, 0, img.Width, img.Height);
                var sample = new TopdownSample { Id = file, Image = img, Bbox = (b.X, b.Y, b.Width, b.Height), Keypoints = new float[kps.Count * 2], Visibility = new float[kps.Count] };
                batch.Add((j, b, pipeline.Process(sample, img, TopdownAugmentation.None, 0, 0, j)));
                if (!overlays.ContainsKey(file)) overlays[file] = img.Clone();
            }
            if (batch.Count == 0) continue;
            var (w, h) = model.InputSize;
            var flat = new float[batch.Count * 3 * h * w];
            for (int i = 0; i < batch.Count; i++) batch[i].Crop.Input.CopyTo(flat, i * 3 * h * w);
            Distill.Pose.Codecs.DecodedKeypoints dec;
            using (torch.NewDisposeScope())
            using (Autograd.InferenceMode())
                dec = model.Predict(torch.FromArray(flat, [batch.Count, 3, h, w]), flip);
            for (int i = 0; i < batch.Count; i++)
            {
                var (file, _, _, boxScore) = jobs[batch[i].Job];
                var trip = new double[kps.Count * 3];
                for (int k = 0; k < kps.Count; k++)
                {
                    var (x, y) = batch[i].Crop.Geometry.CropToImage(dec.Keypoints[i, k, 0], dec.Keypoints[i, k, 1]);
                    trip[3 * k] = x;
                    trip[3 * k + 1] = y;
                    trip[3 * k + 2] = dec.Scores[i, k];
                }
                people.Add((batch[i].Job, new TopdownPrediction(imageOf[file], batch[i].Box, boxScore, trip)));
            }
        }

        // The instance scores and OKS-NMS of `distill eval`, so this file scores as eval does on the same boxes.
        var results = new List<Dictionary<string, object>>();
        foreach (var (index, score) in TopdownResultScoring.Apply(people.Select(p => p.Prediction).ToList(), kps.Sigmas))
        {
            var (job, person) = people[index];
            var (file, imageId, _, _) = jobs[job];
            // Unrounded, so that scoring this file reproduces eval's numbers exactly.
            var entry = new Dictionary<string, object> { ["image_file"] = Path.GetFileName(file), ["category_id"] = 1, ["keypoints"] = person.Keypoints, ["score"] = score };
            if (imageId >= 0) entry["image_id"] = imageId;
            results.Add(entry);
            var p = new double[kps.Count * 2];
            var s = new double[kps.Count];
            for (int k = 0; k < kps.Count; k++)
            {
                p[2 * k] = person.Keypoints[3 * k];
                p[2 * k + 1] = person.Keypoints[3 * k + 1];
                s[k] = person.Keypoints[3 * k + 2];
            }
            PoseDrawing.DrawPose(overlays[file], p, s, skeleton, PoseDrawing.PredictionColour, radius, thickness, kptThr);
        }
        File.WriteAllText(Path.Combine(outDir, "predictions.json"), JsonSerializer.Serialize(results, new JsonSerializerOptions { WriteIndented = true }));
        foreach (var (file, img) in overlays) img.SavePng(Path.Combine(outDir, Path.GetFileNameWithoutExtension(file) + ".png"));
        Console.WriteLine($"predict: {results.Count} people in {overlays.Count} images -> {Path.GetFullPath(outDir)}" + (failed > 0 ? $" ({failed} images unreadable)" : ""));
        return 0;
    }

    private static int BatchSize(string configPath)
    {
        var root = ConfigLoader.Load(configPath);
        if (root["data"] is ConfigMapping data && data["val_batch_size"] is ConfigScalar s && int.TryParse(s.Value, out var n) && n > 0) return n;
        return 16;
    }
}
