using Distill.Pose.BottomUp;
using Distill.Pose.BottomUp.Data;
using Distill.Pose.BottomUp.Evaluation;
using Distill.Pose.BottomUp.Heads;
using Distill.Pose.Evaluation;
using Distill.Pose.Models.Backbones;
using Distill.Torch;
using Distill.Torch.Optim;
using Xunit.Abstractions;

namespace Distill.Pose.Tests.BottomUp;

/// <summary>
/// The end-to-end check that the pieces a trained network adds (head layout, loss, eval-time activation) agree with
/// the encoder and decoder: a tiny CSPNeXt student fitted to one synthetic scene (no augmentation) must find that
/// scene's people. With the gradient sent to the wrong cells (masked_select of a channels-last output) cif.c rose
/// and AP stayed 0.
/// </summary>
public sealed class OverfitOneImageTests(BottomupSamplesFixture set, ITestOutputHelper output) : IClassFixture<BottomupSamplesFixture>
{
    [Fact]
    public void TinyModelFitsOneSceneAndFindsItsPeople()
    {
        torch.ManualSeed(0);
        var meta = CifCafMeta.Coco();
        // 13 x 13 fields at stride 8; a narrow CSPNeXt keeps the 120 steps to seconds.
        const int edge = 97, steps = 120;
        const double lr = 5e-3, widen = 0.125;
        var backbone = new CSPNeXt(0.167, widen, [2]);
        using var model = new BottomupPoseEstimator(backbone, new CifCafHead(meta, backbone.OutChannels[0], 8));
        var sample = set.Samples.First(s => s.Annotations.Count(a => !a.IsCrowd && a.HasLabelledKeypoint) >= 2);
        var pipeline = new BottomupPipeline(meta, 8, model.Mean, model.Std);
        var item = pipeline.Process(sample, sample.Image ?? Distill.Torch.Vision.Image.Read(sample.ImagePath),
            new BottomupAugmentation { Enabled = false, SquareEdge = edge }, 0, 0, 0);
        using var batch = BottomupBatch.Collate([item]);
        // Channels-last, as training runs it: the head's output is then a permuted view for the loss.
        model.ToChannelsLast();
        using var input = batch.Input.Contiguous(MemoryFormat.ChannelsLast);
        using var optimizer = new AdamW(model.Parameters().ToList(), lr: lr, weightDecay: 0);
        var losses = new List<double>();
        model.Train();
        for (int step = 0; step < steps; step++)
        {
            using var scope = torch.NewDisposeScope();
            var outputs = model.Forward(input);
            var terms = model.Loss(outputs, batch.Targets);
            var total = terms.Values.Aggregate((a, b) => a + b);
            losses.Add(total.ItemDouble());
            if (step % 20 == 0)
                output.WriteLine($"{step}: " + string.Join(", ", terms.Select(kv => $"{kv.Key} {kv.Value.ItemDouble():F3}")));
            total.Backward();
            optimizer.Step();
            optimizer.ZeroGrad();
        }
        var truth = new CocoKeypointGroundTruth([sample.ImageId], set.GroundTruth.Annotations.Where(a => a.ImageId == sample.ImageId));
        var stats = BottomupEvaluation.Evaluate(model, [sample], truth, edge, batchSize: 1);
        output.WriteLine($"loss {losses[0]:F2} -> {losses[^1]:F2}, AP {stats.AP:F3}");
        Assert.True(losses[^1] < 0.3 * losses[0], $"loss {losses[0]:F2} -> {losses[^1]:F2}");
        Assert.True(stats.AP > 0.5, $"AP {stats.AP:F3} on the training image");
    }
}
