using Distill.Pose.BottomUp.Evaluation;
using Distill.Pose.Drawing;
using Distill.Pose.Evaluation;
using Distill.Pose.Keypoints;
using Distill.Pose.Models;
using Distill.Pose.Models.Checkpoints;
using Distill.Torch;
using Distill.Torch.Serialization;
using Distill.Torch.Vision;
using Distill.Training.Config;
using Distill.Training.Evaluation;
using Distill.Training.Logging;
using Distill.Training.Tests.Logging;

namespace Distill.Training.Tests.Engine;

/// <summary>logging.log_images for a bottom-up student: the validation contact sheet in TensorBoard, read back from the event file.</summary>
[Collection(TrainerCollection.Name)]
public sealed class BottomupValidationImageTests : IDisposable
{
    // 40 scenes: 36 for training, 4 for validation, one sheet cell each.
    private readonly TinyRun _run = new(seed: 7, images: 40);

    public void Dispose() => _run.Dispose();

    /// <summary>
    /// A run of one epoch from <see cref="ConfidentStudent"/> at a learning rate too small to change what it decodes
    /// (a student of a few epochs decodes nobody yet, and the sheet should show decoded poses).
    /// </summary>
    private string Config(string name, bool logImages) =>
        _run.Config(name, "{max_epochs: 1, val_interval: 1, log_interval: 1}",
            $"ema: {{enabled: false}}\nlogging: {{tensorboard: true, log_images: {(logImages ? "true" : "false")}}}",
            model: BottomupTrainingTests.Student[..^1] + $", init_checkpoint: {ConfidentStudent()}}}",
            optimizer: "{type: SGD, lr: 1.0e-8, momentum: 0.0, weight_decay: 0.0}",
            schedule: "{type: constant, warmup_iters: 0}", evaluation: "{metrics: [coco], best_metric: coco/AP}", batchSize: 8);

    /// <summary>
    /// Weights whose CIF and CAF fields are the same in every cell whatever the image: confidence sigmoid(3), vectors
    /// on the cell and scales softplus(5) cells, wide enough for the votes of neighbouring cells to add up to seeds,
    /// so that the decoder finds a few poses in every image.
    /// </summary>
    private string ConfidentStudent()
    {
        var path = Path.Combine(_run.Dir, "confident.safetensors");
        if (File.Exists(path)) return path.Replace('\\', '/');
        var modelFile = Path.Combine(_run.Dir, "confident.model.yaml");
        File.WriteAllText(modelFile, $"model: {BottomupTrainingTests.Student}\n");
        var (model, _) = ModelFactory.BuildBottomup(ModelConfig.Load(modelFile));
        using (model)
        {
            using (Autograd.NoGrad())
                foreach (var (head, components) in new[] { ("cif", 5), ("caf", 8) })
                {
                    var parameters = model.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter);
                    parameters[$"head.{head}.conv.weight"].Zero_();
                    var bias = parameters[$"head.{head}.conv.bias"];
                    // Channel f x components + c: [spread, confidence, vectors..., scales...] (CIF one scale, CAF two).
                    var values = new float[bias.NumEl];
                    for (int f = 0; f < values.Length; f += components)
                    {
                        values[f + 1] = 3;
                        for (int c = components - (head == "cif" ? 1 : 2); c < components; c++) values[f + c] = 5;
                    }
                    using var filled = torch.FromArray(values, [values.Length]);
                    bias.Copy_(filled);
                }
            SafeTensors.Save(path, model.StateDict());
        }
        return path.Replace('\\', '/');
    }

    private static List<(long Step, EventFileAudit.AuditedValue Value)> Values(string workDir) =>
        EventFileAudit.Read(Assert.Single(EventFileReader.FindEventFiles(Path.Combine(workDir, "tensorboard"))))
            .SelectMany(e => e.Values.Select(v => (e.Step, v))).ToList();

    [Fact]
    public void Validation_logs_a_sheet_of_the_first_four_images_with_annotated_and_decoded_poses()
    {
        var config = Config("images", logImages: true);
        var result = _run.Train(config, set: ["data.square_edge=65"]);
        Assert.True(result.Completed);

        // One image summary, under the top-down tag scheme (val/SOURCE), at the validation's step beside val/coco/AP.
        var values = Values(result.WorkDir);
        var images = values.Where(v => v.Value.Image is not null).ToList();
        var (step, value) = Assert.Single(images);
        Assert.Equal("val/coco", value.Tag);
        Assert.Equal(values.Single(v => v.Value.Tag == "val/coco/AP").Step, step);
        var logged = Image.Decode(value.Image!.Encoded);
        // Four 256 px cells in a row with 2 px gaps.
        Assert.Equal((256 + 2 * 2, 4 * 256 + 5 * 2), (logged.Height, logged.Width));
        Assert.Equal((value.Image.Height, value.Image.Width), (logged.Height, logged.Width));

        // Rebuilt here: the first four validation images of the annotation file, their annotated people (green) and the
        // poses the trained weights decode at the evaluation edge (red).
        var o = ExperimentConfig.Load(config);
        var source = o.Data.Sources[0];
        var truth = CocoKeypointGroundTruth.Load(source.ValAnnFile!);
        var samples = BottomupValidation.Load(source).Samples;
        Assert.Equal(4, samples.Count);
        var (model, set) = ModelFactory.BuildBottomup(o.Model);
        List<CocoKeypointResult> decoded;
        using (model)
        {
            WeightsLoader.LoadInto(model, result.LastCheckpoint);
            decoded = BottomupEvaluation.Predict(model, samples, 65, 4, Device.Cpu);
        }
        Assert.NotEmpty(decoded);
        var skeleton = set.Skeleton.Select(l => (l.From, l.To)).ToList();
        var overlays = samples.Select(s => new PoseOverlay(Image.Read(s.ImagePath),
            truth.Annotations.Where(a => a.ImageId == s.ImageId && !a.IsCrowd && a.NumKeypoints > 0).Select(a => Layer(a.Keypoints, skeleton, PoseDrawing.GroundTruthColour, 0.5))
                .Concat(decoded.Where(r => r.ImageId == s.ImageId).Select(r => Layer(r.Keypoints, skeleton, PoseDrawing.PredictionColour, 0.0)))
                .ToList())).ToList();
        Assert.Contains(overlays, v => v.Poses.Any(p => p.Colour == PoseDrawing.GroundTruthColour));
        Assert.Equal(PoseDrawing.ContactSheet(overlays, 4).Data, logged.Data);
        // The poses are drawn: the sheet differs from the bare images.
        var bare = PoseDrawing.ContactSheet(samples.Select(s => Image.Read(s.ImagePath)).ToList(), 4);
        Assert.NotEqual(bare.Data, logged.Data);
    }

    [Fact]
    public void Without_log_images_no_image_is_written()
    {
        var result = _run.Train(Config("plain", logImages: false), set: ["data.square_edge=65"]);
        var values = Values(result.WorkDir);
        Assert.Contains(values, v => v.Value.Tag == "val/coco/AP");
        Assert.DoesNotContain(values, v => v.Value.Image is not null);
    }

    private static PoseLayer Layer(double[] triples, IReadOnlyList<(int, int)> skeleton, (byte, byte, byte) colour, double threshold) =>
        new(Enumerable.Range(0, triples.Length / 3).SelectMany(i => new[] { triples[3 * i], triples[3 * i + 1] }).ToArray(),
            Enumerable.Range(0, triples.Length / 3).Select(i => triples[3 * i + 2]).ToArray(), skeleton, colour, 3, 2, threshold);
}
