using Distill.Onnx.Runtime;
using Distill.Pose.Codecs;
using Distill.Pose.Models.Checkpoints;
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Threading.Channels;
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
/// score is the instance score `distill eval` ranks by, after the same OKS-NMS per image. The model is a config with
/// its checkpoint (libtorch), or an exported .onnx file alone (ONNX Runtime; everything else from its metadata).
/// </summary>
internal static class PredictCommand
{
    public static Command Create()
    {
        var config = new Argument<string>("model") { Description = "Experiment, model or teacher YAML file (with --checkpoint), or an exported MODEL.onnx alone." };
        var checkpoint = CommonOptions.Checkpoint(required: false);
        var imagesOpt = new Option<string>("--images") { Description = "An image file or a folder of images.", Required = true };
        var boxes = new Option<string?>("--boxes") { Description = "Person detections in COCO results format (image_id, bbox, score)." };
        var bbox = new Option<string?>("--bbox") { Description = "One box x,y,w,h for every image (default: the whole image)." };
        var outDir = new Option<string>("--out") { Description = "Output folder for predictions.json and overlay PNGs.", Required = true };
        var flip = new Option<bool>("--flip-test") { Description = "Average with the prediction on the mirrored crop." };
        var radius = new Option<double>("--radius") { Description = "Keypoint radius in pixels.", DefaultValueFactory = _ => 3 };
        var thickness = new Option<int>("--thickness") { Description = "Skeleton line thickness.", DefaultValueFactory = _ => 2 };
        var kptThr = new Option<double>("--kpt-thr") { Description = "Draw keypoints whose score reaches this.", DefaultValueFactory = _ => 0.3 };
        var cmd = new Command("predict", "Predict keypoints on images with a trained model (config + checkpoint, or an exported .onnx; top-down with boxes from a detection file or given, bottom-up on whole images).")
        {
            config, checkpoint, imagesOpt, boxes, bbox, outDir, flip, radius, thickness, kptThr,
        };
        cmd.SetAction(r => Run(r.GetValue(config)!, r.GetValue(checkpoint), r.GetValue(imagesOpt)!, r.GetValue(boxes), r.GetValue(bbox),
            r.GetValue(outDir)!, r.GetValue(flip), r.GetValue(radius), r.GetValue(thickness), r.GetValue(kptThr)));
        return cmd;
    }

    private static readonly string[] Extensions = [".jpg", ".jpeg", ".png", ".bmp"];

    /// <summary>Crops per forward pass of an .onnx model (there is no config to give data.val_batch_size).</summary>
    private const int OnnxBatchSize = 16;

    /// <summary>What predict needs of a model, whichever engine runs it.</summary>
    private sealed record Predictor((int Width, int Height) InputSize, double[] Mean, double[] Std, int NumKeypoints,
        List<(int, int)> Skeleton, double[] Sigmas, Func<Tensor, bool, DecodedKeypoints> Predict);

    internal static bool IsOnnx(string path) => path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase);

    private static int Run(string configPath, string? checkpoint, string images, string? boxesPath, string? bboxText, string outDir,
        bool flip, double radius, int thickness, double kptThr)
    {
        // Argument errors first, before the model is built.
        BoundingBox? fixedBox = bboxText is null ? null : ParseBbox(bboxText);
        bool onnx = IsOnnx(configPath);
        if (onnx && checkpoint is not null)
            throw new ArgumentException($"predict: {configPath} holds its own weights; --checkpoint goes with a config file");
        if (!onnx && checkpoint is null)
            throw new ArgumentException($"predict: {configPath}: a config needs --checkpoint (or give an exported MODEL.onnx alone)");
        var mo = onnx ? null : ModelConfig.Load(configPath);
        int batchSize = onnx ? OnnxBatchSize : BatchSize(configPath);
        bool bottomup = mo is not null ? BottomupPredict.IsBottomup(mo) : BottomupPredict.IsBottomupOnnx(configPath);
        if (bottomup) BottomupPredict.CheckOptions(configPath, boxesPath, bboxText, flip);

        var files = File.Exists(images) ? [Path.GetFullPath(images)]
            : Directory.Exists(images) ? Directory.GetFiles(Path.GetFullPath(images)).Where(f => Extensions.Contains(Path.GetExtension(f).ToLowerInvariant())).Order(StringComparer.Ordinal).ToList()
            : throw new FileNotFoundException($"predict: no such image or folder: {images}");
        if (files.Count == 0) throw new FileNotFoundException($"predict: {images}: no images ({string.Join(", ", Extensions)})");
        var overlayOf = OverlayPaths(files, outDir);
        if (bottomup)
            return mo is null ? BottomupPredict.RunOnnx(configPath, batchSize, files, overlayOf, outDir, radius, thickness, kptThr)
                : BottomupPredict.RunConfig(mo, checkpoint!, batchSize, files, overlayOf, outDir, radius, thickness, kptThr);

        using var owner = new DisposableList();
        Predictor model;
        ClassicTopdown? classic = null;
        (int Width, int Height) heatmapSize = default;
        if (mo is null)
        {
            var om = owner.Add(OnnxPoseModel.Load(configPath, new OnnxSessionOptions { IntraOpThreads = Math.Max(1, torch.NumThreads) }));
            model = new Predictor(om.InputSize, om.Mean, om.Std, om.NumKeypoints, om.Skeleton.Select(l => (l.From, l.To)).ToList(), om.Sigmas, om.Predict);
        }
        else
        {
            var (tm, set) = ModelFactory.Build(mo);
            owner.Add(tm);
            var loaded = WeightsLoader.LoadInto(tm, Path.GetFullPath(checkpoint!));
            if (loaded.Mapped) Console.Error.WriteLine($"predict: {loaded}");
            tm.Eval();
            // test_cfg.inference: classic crops and decodes as the original ViTPose demo does (mmpose 0.x).
            if (mo.TestCfg.Inference == Distill.Pose.Models.Options.TopdownInference.Classic)
            {
                classic = new ClassicTopdown(tm.InputSize, tm.Mean, tm.Std);
                heatmapSize = (tm.Codec as Distill.Pose.Codecs.HeatmapCodec)?.HeatmapSize ?? default;
            }
            model = new Predictor(tm.InputSize, tm.Mean, tm.Std, set.Count, set.Skeleton.Select(s => (s.From, s.To)).ToList(), set.Sigmas,
                classic is null ? (x, f) => tm.Predict(x, f) : (x, f) => ClassicTopdown.Predict(tm, x, f));
        }
        int count = model.NumKeypoints;

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
            foreach (var f in files) jobs.Add((f, idOf[f], fixedBox, 1.0));
        }

        Directory.CreateDirectory(outDir);
        var pipeline = new TopdownPipeline(new TopdownPipelineOptions { InputSize = model.InputSize, Mean = model.Mean, Std = model.Std });
        // Every file is one image for OKS-NMS, whether or not its name carries a COCO id.
        var imageOf = files.Select((f, i) => (f, i)).ToDictionary(x => x.f, x => (long)x.i);
        var people = new List<(int Job, TopdownPrediction Prediction)>();
        var peopleOf = new Dictionary<string, List<int>>();
        var lastJob = new Dictionary<string, int>();
        for (int j = 0; j < jobs.Count; j++) lastJob[jobs[j].File] = j;
        var skeleton = model.Skeleton;

        // Images stream through: decoded a few ahead on another thread, kept only until their last box is predicted,
        // then drawn, written and released, so memory does not grow with the number of images.
        var order = jobs.Select(j => j.File).Distinct().ToList();
        var decoded = Channel.CreateBounded<(string File, Image? Image, string? Error)>(new BoundedChannelOptions(Prefetch) { SingleReader = true, SingleWriter = true });
        using var stop = new CancellationTokenSource();
        var reader = Task.Run(async () =>
        {
            try
            {
                foreach (var file in order)
                {
                    (string, Image?, string?) item;
                    try
                    {
                        item = (file, PoseImageLoader.Load(file), null);
                    }
                    catch (Exception e) when (e is IOException or InvalidDataException or TorchException)
                    {
                        item = (file, null, ErrorText.Describe(e));
                    }
                    await decoded.Writer.WriteAsync(item, stop.Token).ConfigureAwait(false);
                }
                decoded.Writer.Complete();
            }
            catch (Exception e)
            {
                decoded.Writer.TryComplete(e);
            }
        });
        var live = new Dictionary<string, Image?>();
        int written = 0, failed = 0;
        try
        {
            for (int start = 0; start < jobs.Count; start += batchSize)
            {
                var batch = new List<(int Job, BoundingBox Box, float[] Input, Func<double, double, (double X, double Y)> ToImage)>();
                for (int j = start; j < Math.Min(jobs.Count, start + batchSize); j++)
                {
                    var (file, _, box, _) = jobs[j];
                    if (!live.TryGetValue(file, out var img))
                    {
                        // Files arrive in order of first use, so the next one decoded is this job's.
                        var (next, image, error) = decoded.Reader.ReadAsync().AsTask().GetAwaiter().GetResult();
                        if (next != file) throw new InvalidOperationException($"predict: decoded {next}, expected {file}");
                        if (error is not null)
                        {
                            Console.Error.WriteLine($"predict: skipping {file}: {error}");
                            failed++;
                        }
                        live[file] = img = image;
                    }
                    if (img is null)
                    {
                        if (lastJob[file] == j) live.Remove(file);
                        continue;
                    }
                    var b = box ?? new BoundingBox(0, 0, img.Width, img.Height);
                    if (b.X >= img.Width || b.Y >= img.Height || b.X + b.Width <= 0 || b.Y + b.Height <= 0)
                        Console.Error.WriteLine($"predict: warning: {file}: box {Describe(b)} lies wholly outside the {img.Width}x{img.Height} image");
                    var sample = new TopdownSample { Id = file, Image = img, Bbox = (b.X, b.Y, b.Width, b.Height), Keypoints = new float[count * 2], Visibility = new float[count] };
                    if (classic is null)
                    {
                        var crop = pipeline.Process(sample, img, TopdownAugmentation.None, 0, 0, j);
                        batch.Add((j, b, crop.Input, crop.Geometry.CropToImage));
                    }
                    else
                    {
                        var crop = classic.Cut(img, b.X, b.Y, b.Width, b.Height);
                        batch.Add((j, b, crop.Input, (hx, hy) => ClassicTopdown.ToImage(hx, hy, crop.Center, crop.Scale, heatmapSize)));
                    }
                }
                if (batch.Count == 0) continue;
                bool released = false;
                var (w, h) = model.InputSize;
                var flat = new float[batch.Count * 3 * h * w];
                for (int i = 0; i < batch.Count; i++) batch[i].Input.CopyTo(flat, i * 3 * h * w);
                Distill.Pose.Codecs.DecodedKeypoints dec;
                using (torch.NewDisposeScope())
                using (Autograd.InferenceMode())
                {
                    var input = torch.FromArray(flat, [batch.Count, 3, h, w]);
                    dec = model.Predict(input, flip);
                }
                for (int i = 0; i < batch.Count; i++)
                {
                    var (file, _, _, boxScore) = jobs[batch[i].Job];
                    var trip = new double[count * 3];
                    for (int k = 0; k < count; k++)
                    {
                        var (x, y) = batch[i].ToImage(dec.Keypoints[i, k, 0], dec.Keypoints[i, k, 1]);
                        trip[3 * k] = x;
                        trip[3 * k + 1] = y;
                        trip[3 * k + 2] = dec.Scores[i, k];
                    }
                    if (!peopleOf.TryGetValue(file, out var mine)) peopleOf[file] = mine = [];
                    mine.Add(people.Count);
                    people.Add((batch[i].Job, new TopdownPrediction(imageOf[file], batch[i].Box, boxScore, trip)));
                }
                foreach (var (job, _, _, _) in batch)
                {
                    var file = jobs[job].File;
                    if (lastJob[file] != job) continue;
                    // All of this image's people are in: OKS-NMS is per image, so its kept people are those of the whole run.
                    var img = live[file]!;
                    var mine = peopleOf[file];
                    foreach (var (index, _) in TopdownResultScoring.Apply(mine.Select(i => people[i].Prediction).ToList(), model.Sigmas))
                        Draw(img, people[mine[index]].Prediction.Keypoints, count, skeleton, radius, thickness, kptThr);
                    img.SavePng(overlayOf[file]);
                    live.Remove(file);
                    written++;
                    released = true;
                }
                // Image buffers live in the large-object heap, which only full collections reclaim; without one per
                // batch the runtime lets released images pile up far beyond the few that are in use.
                if (released) GC.Collect();
            }
        }
        finally
        {
            stop.Cancel();
            try { reader.Wait(); } catch (AggregateException) { }
        }

        // The instance scores and OKS-NMS of `distill eval`, so this file scores as eval does on the same boxes.
        var results = new List<Dictionary<string, object>>();
        foreach (var (index, score) in TopdownResultScoring.Apply(people.Select(p => p.Prediction).ToList(), model.Sigmas))
        {
            var (job, person) = people[index];
            var (file, imageId, _, _) = jobs[job];
            // Unrounded, so that scoring this file reproduces eval's numbers exactly.
            var entry = new Dictionary<string, object> { ["image_file"] = Path.GetFileName(file), ["category_id"] = 1, ["keypoints"] = person.Keypoints, ["score"] = score };
            if (imageId >= 0) entry["image_id"] = imageId;
            results.Add(entry);
        }
        File.WriteAllText(Path.Combine(outDir, "predictions.json"), JsonSerializer.Serialize(results, new JsonSerializerOptions { WriteIndented = true }));
        string skipped = failed > 0 ? $" ({failed} of {order.Count} images unreadable, skipped)" : "";
        if (written == 0 && failed > 0)
        {
            Console.Error.WriteLine($"predict: no image could be read{skipped}");
            return 1;
        }
        Console.WriteLine($"predict: {results.Count} people in {written} images -> {Path.GetFullPath(outDir)}" + skipped);
        return 0;
    }

    /// <summary>Disposes what it holds, last added first.</summary>
    private sealed class DisposableList : IDisposable
    {
        private readonly List<IDisposable> _items = [];

        public T Add<T>(T item) where T : IDisposable
        {
            _items.Add(item);
            return item;
        }

        public void Dispose()
        {
            for (int i = _items.Count - 1; i >= 0; i--) _items[i].Dispose();
        }
    }

    /// <summary>Images decoded ahead of the one being predicted.</summary>
    private const int Prefetch = 2;

    /// <summary>
    /// Each input's overlay: its whole file name plus .png, so pic.jpg and pic.png never share one. Refuses an output
    /// folder where an overlay would overwrite an input.
    /// </summary>
    internal static Dictionary<string, string> OverlayPaths(IReadOnlyList<string> files, string outDir)
    {
        var outFull = Path.GetFullPath(outDir);
        var inputs = files.Select(Path.GetFullPath).ToHashSet(StringComparer.Ordinal);
        var overlays = new Dictionary<string, string>();
        foreach (var f in files)
        {
            var target = Path.Combine(outFull, Path.GetFileName(f) + ".png");
            if (inputs.Contains(target))
                throw new ArgumentException($"--out {outDir}: the overlay of {f} would overwrite the input {target}; choose another --out");
            overlays[f] = target;
        }
        return overlays;
    }

    internal static BoundingBox ParseBbox(string text)
    {
        var parts = text.Split(',');
        var v = new double[parts.Length];
        bool numeric = true;
        for (int i = 0; i < parts.Length; i++)
            numeric &= double.TryParse(parts[i].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out v[i]) && double.IsFinite(v[i]);
        if (!numeric || v.Length != 4 || v[2] <= 1 || v[3] <= 1)
            throw new ArgumentException($"--bbox: expected four numbers x,y,w,h with w, h > 1, got '{text}'");
        return new BoundingBox((float)v[0], (float)v[1], (float)v[2], (float)v[3]);
    }

    private static string Describe(BoundingBox b) => string.Create(CultureInfo.InvariantCulture, $"[{b.X:0.##}, {b.Y:0.##}, {b.Width:0.##}, {b.Height:0.##}]");

    /// <summary>Draws one person from its (x, y, score) triples, as both predict paths write their overlays.</summary>
    internal static void Draw(Image img, double[] keypoints, int count, List<(int, int)> skeleton, double radius, int thickness, double kptThr)
    {
        PoseDrawing.DrawPose(img, PoseLayer.FromTriples(keypoints, count, skeleton, PoseDrawing.PredictionColour, radius, thickness, kptThr));
    }

    private static int BatchSize(string configPath)
    {
        var root = ConfigLoader.Load(configPath);
        if (root["data"] is ConfigMapping data && data["val_batch_size"] is ConfigScalar s && int.TryParse(s.Value, out var n) && n > 0) return n;
        return 16;
    }
}
