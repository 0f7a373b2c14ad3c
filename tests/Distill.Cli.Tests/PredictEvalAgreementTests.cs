using System.Globalization;
using System.Text.Json.Nodes;
using Distill.Cli.Tests.Support;
using Distill.Pose.Evaluation;
using Distill.Pose.Keypoints;

namespace Distill.Cli.Tests;

/// <summary>
/// `distill predict --boxes` writes what `distill eval` scores: scoring predict's COCO-results file with the COCO
/// evaluator against the same ground truth gives eval's numbers.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class PredictEvalAgreementTests(CliFixture f)
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Fractions of the person's size by which each ground-truth pose is moved off the prediction (OKS from about 1 down to 0.4).</summary>
    private static readonly double[] Offsets = [0.0, 0.03, 0.06, 0.09, 0.12];

    /// <summary>Detector scores of the annotated boxes, in annotation order (cycled).</summary>
    private static readonly double[] BoxScores = [0.95, 0.5, 0.8, 0.65, 0.9, 0.7];

    [Fact]
    public void PredictResultsScoredByTheCocoEvaluatorGiveEvalsNumbers()
    {
        var dir = f.NewDir("agreement");
        var coco17 = KeypointSet.FromName("coco17");
        var val = JsonNode.Parse(File.ReadAllText(f.ValAnnotations))!;
        var annotations = val["annotations"]!.AsArray().Select(a => (Image: a!["image_id"]!.GetValue<long>(),
            Box: a["bbox"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray())).ToList();

        // A ground truth the tiny model partly fits (trained for seconds, it fits the synthetic labels nowhere near
        // OKS 0.5, so every AP would be 0): its own poses on the annotated boxes, each moved off by a different amount.
        var gtBoxes = Path.Combine(dir, "gt_boxes.json");
        WriteDetections(gtBoxes, annotations.Select(a => (a.Image, a.Box, 1.0)));
        var fitted = Predict(gtBoxes, Path.Combine(dir, "fitted"));
        Assert.Equal(annotations.Count, fitted.Count);
        var truth = Path.Combine(dir, "truth.json");
        WriteGroundTruth(truth, val["images"]!, fitted, coco17);

        // The detections: the annotated boxes with varied scores, and duplicates of two of them at lower scores
        // (identical crops, identical poses: OKS-NMS must drop them, or they count as false positives).
        var detections = annotations.Select((a, i) => (a.Image, a.Box, BoxScores[i % BoxScores.Length])).ToList();
        detections.Add((annotations[0].Image, annotations[0].Box, 0.4));
        detections.Add((annotations[^1].Image, annotations[^1].Box, 0.3));
        var dets = Path.Combine(dir, "dets.json");
        WriteDetections(dets, detections);

        var config = Path.Combine(f.Root, "configs", "agreement.yaml");
        File.WriteAllText(config, $"""
            # tiny.yaml evaluated on {truth} with the boxes of {dets}.
            _base_: tiny.yaml
            data:
              sources:
                - name: coco
                  format: coco
                  ann_file: data/coco/annotations/person_keypoints_train.json
                  img_dir: data/coco/images/train
                  val_ann_file: {truth}
                  val_img_dir: {f.ValImagesDir}
                  bbox_file: {dets}
            """);
        var eval = f.Run("eval", config, "--checkpoint", f.ReferenceCheckpoint);
        Assert.True(eval.ExitCode == 0, eval.ToString());
        var table = VerbTests.EvalTable(eval);

        // The same model, boxes and flip test (the config's test_cfg.flip_test) through predict.
        var predicted = Predict(dets, Path.Combine(dir, "predicted"), config);
        Assert.Equal(detections.Count - 2, predicted.Count); // the two duplicates are suppressed
        foreach (var e in predicted)
        {
            // Each score is its box's score x the mean of its keypoint scores above 0.2 (box scores are distinct per image).
            var kp = e!["keypoints"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
            var confident = Enumerable.Range(0, 17).Select(k => kp[3 * k + 2]).Where(s => s > 0.2).ToList();
            double mean = confident.Count == 0 ? 0 : confident.Average();
            long image = e["image_id"]!.GetValue<long>();
            double score = e["score"]!.GetValue<double>();
            Assert.Contains(detections, d => d.Image == image && Math.Abs(d.Item3 * mean - score) <= 1e-12 * Math.Max(1, score));
        }

        var stats = new CocoKeypointEvaluator(coco17.Sigmas)
            .Evaluate(CocoKeypointGroundTruth.Load(truth), CocoKeypointResults.Load(Path.Combine(dir, "predicted", "predictions.json")))
            .ToDictionary();
        Assert.Equal(stats.Count, table.Count);
        foreach (var (name, value) in stats) Assert.Equal(table["coco/" + name], value.ToString("F4", Inv));
        // A comparison that means something: neither no match nor a perfect one.
        Assert.InRange(stats["AP"], 0.05, 0.95);
    }

    private List<JsonNode> Predict(string boxes, string outDir, string config = "configs/tiny.yaml")
    {
        var r = f.Run("predict", config, "--checkpoint", f.ReferenceCheckpoint, "--images", f.ValImagesDir, "--boxes", boxes,
            "--out", outDir, "--flip-test");
        Assert.True(r.ExitCode == 0, r.ToString());
        return JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "predictions.json")))!.AsArray().Select(e => e!).ToList();
    }

    private static void WriteDetections(string path, IEnumerable<(long Image, double[] Box, double Score)> detections)
    {
        var array = new JsonArray();
        foreach (var (image, box, score) in detections)
            array.Add(new JsonObject { ["image_id"] = image, ["category_id"] = 1, ["bbox"] = new JsonArray(box.Select(v => (JsonNode)v).ToArray()), ["score"] = score });
        File.WriteAllText(path, array.ToJsonString());
    }

    /// <summary>
    /// A COCO annotation file with the given images and one person per prediction: the predicted keypoints (all
    /// labelled) moved diagonally by an offset of the keypoints' extent, that extent as box and area.
    /// </summary>
    private static void WriteGroundTruth(string path, JsonNode images, List<JsonNode> predictions, KeypointSet set)
    {
        var annotations = new JsonArray();
        for (int i = 0; i < predictions.Count; i++)
        {
            var kp = predictions[i]["keypoints"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
            var xs = Enumerable.Range(0, 17).Select(k => kp[3 * k]).ToArray();
            var ys = Enumerable.Range(0, 17).Select(k => kp[3 * k + 1]).ToArray();
            double w = Math.Max(xs.Max() - xs.Min(), 8), h = Math.Max(ys.Max() - ys.Min(), 8);
            double step = Offsets[i % Offsets.Length] * Math.Sqrt(w * h) / Math.Sqrt(2);
            var keypoints = new JsonArray();
            for (int k = 0; k < 17; k++)
            {
                keypoints.Add(Math.Round(xs[k] + step, 2));
                keypoints.Add(Math.Round(ys[k] + step, 2));
                keypoints.Add(2);
            }
            annotations.Add(new JsonObject
            {
                ["id"] = i + 1,
                ["image_id"] = predictions[i]["image_id"]!.GetValue<long>(),
                ["category_id"] = 1,
                ["bbox"] = new JsonArray(Math.Round(xs.Min(), 2), Math.Round(ys.Min(), 2), Math.Round(w, 2), Math.Round(h, 2)),
                ["area"] = Math.Round(w * h, 2),
                ["iscrowd"] = 0,
                ["num_keypoints"] = 17,
                ["keypoints"] = keypoints,
            });
        }
        var doc = new JsonObject
        {
            ["images"] = images.DeepClone(),
            ["annotations"] = annotations,
            ["categories"] = new JsonArray(new JsonObject
            {
                ["id"] = 1,
                ["name"] = "person",
                ["keypoints"] = new JsonArray(set.Names.Select(n => (JsonNode)n).ToArray()),
            }),
        };
        File.WriteAllText(path, doc.ToJsonString());
    }
}
