using System.Globalization;
using System.Text.Json;
using Distill.Onnx.Runtime;
using Distill.Pose.BottomUp;
using Distill.Pose.BottomUp.Decoding;
using Distill.Pose.Datasets;
using Distill.Pose.Drawing;
using Distill.Pose.Evaluation;
using Distill.Pose.Models;
using Distill.Pose.Models.Checkpoints;
using Distill.Pose.Models.Options;
using Distill.Pose.Transforms;
using Distill.Torch;
using Distill.Torch.Vision;

namespace Distill.Cli.Commands;

/// <summary>
/// `distill predict` for bottom-up models (a config with its checkpoint, or an exported .onnx alone): no boxes. Each whole image is scaled to fit the model's input, the network
/// and the CIF-CAF decoder find every person, and the poses are mapped back to image pixels. Writes the same
/// predictions.json (COCO results with image_file) and overlays as top-down prediction; scores are the decoder's
/// instance scores after its own NMS.
/// </summary>
internal static class BottomupPredict
{
    /// <summary>What bottom-up prediction needs of a model, whichever engine runs it.</summary>
    internal sealed record Predictor((int Width, int Height) InputSize, double[] Mean, double[] Std, int NumKeypoints,
        List<(int, int)> Skeleton, Func<Tensor, List<List<DecodedPose>>> Predict);

    internal static bool IsBottomup(ModelOptions mo) => mo.Type == ModelType.BottomupPoseEstimator;

    /// <summary>Whether an exported .onnx file is a bottom-up model (its metadata says so).</summary>
    internal static bool IsBottomupOnnx(string path) => OnnxBottomupModel.IsBottomup(path);

    /// <summary>Options that only mean something with person boxes are refused rather than ignored.</summary>
    internal static void CheckOptions(string model, string? boxes, string? bbox, bool flip)
    {
        if (boxes is not null) throw new ArgumentException($"predict: {model} is a bottom-up model and finds people itself; --boxes is for top-down models");
        if (bbox is not null) throw new ArgumentException($"predict: {model} is a bottom-up model and reads whole images; --bbox is for top-down models");
        if (flip) throw new ArgumentException($"predict: {model}: --flip-test is not available for bottom-up models");
    }

    public static int RunConfig(ModelOptions mo, string checkpoint, int batchSize, IReadOnlyList<string> files, Dictionary<string, string> overlayOf,
        string outDir, double radius, int thickness, double kptThr)
    {
        var (model, kps) = ModelFactory.BuildBottomup(mo);
        using (model)
        {
            WeightsLoader.LoadInto(model, Path.GetFullPath(checkpoint));
            model.Eval();
            var predictor = new Predictor(model.InputSize, model.Mean, model.Std, kps.Count, kps.Skeleton.Select(s => (s.From, s.To)).ToList(),
                x => model.Predict(x));
            return Run(predictor, batchSize, files, overlayOf, outDir, radius, thickness, kptThr);
        }
    }

    /// <summary>An exported bottom-up model in ONNX Runtime, its decoder rebuilt from the file's metadata.</summary>
    public static int RunOnnx(string path, int batchSize, IReadOnlyList<string> files, Dictionary<string, string> overlayOf,
        string outDir, double radius, int thickness, double kptThr)
    {
        using var model = OnnxBottomupModel.Load(path, new OnnxSessionOptions { IntraOpThreads = Math.Max(1, torch.NumThreads) });
        var predictor = new Predictor(model.InputSize, model.Mean, model.Std, model.NumKeypoints, model.Skeleton.ToList(), model.Predict);
        return Run(predictor, batchSize, files, overlayOf, outDir, radius, thickness, kptThr);
    }

    public static int Run(Predictor model, int batchSize, IReadOnlyList<string> files, Dictionary<string, string> overlayOf,
        string outDir, double radius, int thickness, double kptThr)
    {
        Directory.CreateDirectory(outDir);
        var norm = new ImageNormalization(model.Mean, model.Std);
        var (w, h) = model.InputSize;
        int plane = 3 * w * h;
        var results = new List<Dictionary<string, object>>();
        int written = 0, failed = 0, people = 0;
        for (int start = 0; start < files.Count; start += batchSize)
        {
            var batch = new List<(string File, Image Image, WholeImageGeometry Geometry)>();
            var flat = new float[Math.Min(batchSize, files.Count - start) * plane];
            for (int i = start; i < Math.Min(files.Count, start + batchSize); i++)
            {
                Image img;
                try
                {
                    img = PoseImageLoader.Load(files[i]);
                }
                catch (Exception e) when (e is IOException or InvalidDataException or TorchException)
                {
                    Console.Error.WriteLine($"predict: skipping {files[i]}: {ErrorText.Describe(e)}");
                    failed++;
                    continue;
                }
                var g = WholeImageInput.Prepare(img, model.InputSize, norm, flat.AsSpan(batch.Count * plane, plane));
                batch.Add((files[i], img, g));
            }
            if (batch.Count == 0) continue;
            List<List<DecodedPose>> decoded;
            using (torch.NewDisposeScope())
            using (Autograd.InferenceMode())
                decoded = model.Predict(torch.FromArray(flat.AsSpan(0, batch.Count * plane).ToArray(), [batch.Count, 3, h, w]));
            for (int i = 0; i < batch.Count; i++)
            {
                var (file, img, g) = batch[i];
                long? imageId = long.TryParse(Path.GetFileNameWithoutExtension(file), NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : null;
                // The decoder returns poses best first; they are drawn and written in that order.
                foreach (var pose in decoded[i])
                {
                    var r = g.ToImage(pose, imageId ?? -1);
                    PredictCommand.Draw(img, r.Keypoints, model.NumKeypoints, model.Skeleton, radius, thickness, kptThr);
                    var entry = new Dictionary<string, object> { ["image_file"] = Path.GetFileName(file), ["category_id"] = 1, ["keypoints"] = r.Keypoints, ["score"] = r.Score };
                    if (imageId is long known) entry["image_id"] = known;
                    results.Add(entry);
                    people++;
                }
                img.SavePng(overlayOf[file]);
                written++;
            }
        }
        File.WriteAllText(Path.Combine(outDir, "predictions.json"), JsonSerializer.Serialize(results, new JsonSerializerOptions { WriteIndented = true }));
        string skipped = failed > 0 ? $" ({failed} of {files.Count} images unreadable, skipped)" : "";
        if (written == 0 && failed > 0)
        {
            Console.Error.WriteLine($"predict: no image could be read{skipped}");
            return 1;
        }
        Console.WriteLine($"predict: {people} people in {written} images -> {Path.GetFullPath(outDir)}" + skipped);
        return 0;
    }
}
