using Distill.Pose.BottomUp.Data;
using Distill.Pose.BottomUp.Decoding;
using Distill.Pose.Evaluation;
using Distill.Torch;
using Distill.Torch.Vision;

namespace Distill.Pose.BottomUp.Evaluation;

/// <summary>
/// COCO keypoint AP of a bottom-up model on whole images: each image scaled (long side to the edge) and padded as in
/// <see cref="BottomupPipeline.EvalGeometry"/>, the decoded poses mapped back to image pixels, and the COCO evaluator
/// run against the file's ground truth.
/// </summary>
public static class BottomupEvaluation
{
    /// <summary>The decoded poses of every sample in COCO results form (image pixels).</summary>
    public static List<CocoKeypointResult> Predict(BottomupPoseEstimator model, IReadOnlyList<BottomupSample> samples, int edge,
        int batchSize = 8, Device? device = null, CifCafDecoderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(samples);
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "must be at least 1");
        var pipeline = new BottomupPipeline(model.Meta, model.Stride, model.Mean, model.Std);
        var eval = new BottomupAugmentation { Enabled = false, SquareEdge = edge };
        var results = new List<CocoKeypointResult>();
        for (int start = 0; start < samples.Count; start += batchSize)
        {
            var items = new List<BottomupResult>();
            for (int i = start; i < Math.Min(samples.Count, start + batchSize); i++)
            {
                var s = samples[i];
                items.Add(pipeline.Process(s, s.Image ?? Image.Read(s.ImagePath), eval, 0, 0, i));
            }
            using var batch = BottomupBatch.Collate(items);
            using var input = device is { } d ? batch.Input.To(d) : batch.Input.Alias();
            var poses = model.Predict(input, options);
            for (int i = 0; i < items.Count; i++)
            {
                var back = items[i].ImageToInput.Invert();
                foreach (var pose in poses[i])
                {
                    var k = new double[pose.Keypoints.Length];
                    for (int j = 0; j < pose.KeypointCount; j++)
                    {
                        var (x, y) = back.Apply(pose.Keypoints[3 * j], pose.Keypoints[3 * j + 1]);
                        (k[3 * j], k[3 * j + 1], k[3 * j + 2]) = (x, y, pose.Keypoints[3 * j + 2]);
                    }
                    results.Add(new CocoKeypointResult(items[i].ImageId, k, pose.Score));
                }
            }
        }
        return results;
    }

    /// <summary>COCO AP and AR of the model's poses against <paramref name="groundTruth"/>.</summary>
    public static CocoKeypointStats Evaluate(BottomupPoseEstimator model, IReadOnlyList<BottomupSample> samples, CocoKeypointGroundTruth groundTruth,
        int edge, int batchSize = 8, Device? device = null) =>
        new CocoKeypointEvaluator(model.Meta.Sigmas).Evaluate(groundTruth, Predict(model, samples, edge, batchSize, device));
}
