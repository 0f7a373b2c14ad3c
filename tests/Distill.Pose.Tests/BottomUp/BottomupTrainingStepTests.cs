using Distill.Pose.BottomUp;
using Distill.Pose.BottomUp.Data;
using Distill.Pose.BottomUp.Evaluation;
using Distill.Pose.BottomUp.Heads;
using Distill.Pose.Data;
using Distill.Pose.Evaluation;
using Distill.Pose.Models;
using Distill.Pose.Models.Backbones;
using Distill.Torch;
using Distill.Torch.Optim;

namespace Distill.Pose.Tests.BottomUp;

/// <summary>
/// A tiny bottom-up model trained for a few steps on augmented batches from the threaded loader, with OpenPifPaf's
/// optimizer (SGD with Nesterov momentum, gradients clipped by value): the summed field loss falls, every term is
/// finite, and the COCO evaluation of the decoded poses gives an AP.
/// </summary>
public sealed class BottomupTrainingStepTests(BottomupSamplesFixture set) : IClassFixture<BottomupSamplesFixture>
{
    [Fact]
    public void FewStepsLowerTheLossAndEvaluationGivesAp()
    {
        torch.ManualSeed(0);
        var meta = CifCafMeta.Coco();
        // CSPNeXt stage 2 (stride 8, 32 channels) at a 97 px edge: 13 x 13 fields.
        var backbone = new CSPNeXt(0.167, 0.125, [2]);
        using var model = new BottomupPoseEstimator(backbone, new CifCafHead(meta, backbone.OutChannels[0], 8));
        var samples = set.Samples.Take(4).ToList();
        // The same four images every step (augmentation off), so that a falling loss is the optimizer's doing.
        using var loader = new BottomupDataLoader(samples, new BottomupPipeline(meta, 8), _ => new BottomupAugmentation { Enabled = false, SquareEdge = 97 },
            1, new DataLoaderOptions { BatchSize = 4, Workers = 2 });
        using var optimizer = new SGD(model.Parameters().ToList(), lr: 0.01, momentum: 0.9, nesterov: true);
        var losses = new List<double>();
        model.Train();
        for (int epoch = 0; epoch < 12; epoch++)
            foreach (var loaded in loader.Epoch(epoch, [0, 1, 2, 3]))
            {
                using var batch = loaded.Value;
                using var scope = torch.NewDisposeScope();
                var outputs = model.Forward(batch.Input);
                var terms = model.Loss(outputs, batch.Targets);
                Assert.Equal(model.Head.LossNames, terms.Keys);
                Assert.All(terms.Values, t => Assert.True(double.IsFinite(t.ItemDouble())));
                var total = terms.Values.Aggregate((a, b) => a + b);
                losses.Add(total.ItemDouble());
                total.Backward();
                Gradients.ClipGradValue(model.Parameters(), 10);
                optimizer.Step();
                optimizer.ZeroGrad();
            }
        Assert.True(losses[^1] < 0.8 * losses[0], $"loss {losses[0]:F2} -> {losses[^1]:F2}: {string.Join(", ", losses.Select(l => l.ToString("F2")))}");

        var ids = samples.Select(s => s.ImageId).ToHashSet();
        var truth = new CocoKeypointGroundTruth(ids, set.GroundTruth.Annotations.Where(a => ids.Contains(a.ImageId)));
        var stats = BottomupEvaluation.Evaluate(model, samples, truth, 97, batchSize: 2);
        Assert.InRange(stats.AP, 0.0, 1.0);
        Assert.True(double.IsFinite(stats.AR));
    }
}
