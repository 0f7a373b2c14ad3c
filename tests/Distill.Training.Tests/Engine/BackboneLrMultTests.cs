using Distill.Pose.Models;
using Distill.Pose.Models.Checkpoints;
using Distill.Torch;
using Distill.Torch.Serialization;
using Distill.Training.Config.Schema;
using Distill.Training.Engine;

namespace Distill.Training.Tests.Engine;

/// <summary>
/// optimizer.backbone_lr_mult: the student's backbone.* parameters get their own parameter groups at lr x mult, which
/// the schedules scale from that base; 1 keeps the two usual groups; 0 freezes the backbone while the head learns.
/// </summary>
[Collection(TrainerCollection.Name)]
public sealed class BackboneLrMultTests
{
    [Fact]
    public void TheBackboneGroupsRunAtTheirShareOfEveryScheduledRate()
    {
        var (model, _) = ModelFactory.Build(ModelConfig.Parse($"model: {TinyRun.Student}", "student"));
        using (model)
        {
            var backbone = model.NamedParameters().Where(p => p.Name.StartsWith("backbone.", StringComparison.Ordinal)).Select(p => p.Parameter).ToList();
            var oo = new OptimizerOptions { Lr = 4e-3, WeightDecay = 0.05, BackboneLrMult = 0.1 };
            using var opt = OptimizerFactory.Create(oo, model.Parameters(), backbone);
            // Head (decay, no decay), then backbone (decay, no decay); every parameter exactly once.
            Assert.Equal(4, opt.ParamGroups.Count);
            Assert.Equal(model.Parameters().Count(), opt.ParamGroups.Sum(g => g.Params.Count));
            var inBackbone = new HashSet<Tensor>(backbone, ReferenceEqualityComparer.Instance);
            Assert.All(opt.ParamGroups.Take(2).SelectMany(g => g.Params), p => Assert.DoesNotContain(p, inBackbone));
            Assert.All(opt.ParamGroups.Skip(2).SelectMany(g => g.Params), p => Assert.Contains(p, inBackbone));
            Assert.Equal([4e-3, 4e-3, 4e-4, 4e-4], opt.ParamGroups.Select(g => g.Lr).ToArray());
            Assert.Equal([0.05, 0.0, 0.05, 0.0], opt.ParamGroups.Select(g => g.WeightDecay).ToArray());

            // Warm-up and cosine scale each group from its own base: the ratio stays 1:10 at every step.
            var schedule = OptimizerFactory.MainSchedule(opt, new ScheduleOptions { Type = LrScheduleType.Cosine, WarmupIters = 3, WarmupRatio = 0.1 },
                stepsPerEpoch: 5, epochs: 2);
            for (int step = 0; step < 10; step++)
            {
                Assert.Equal(opt.ParamGroups[0].Lr * 0.1, opt.ParamGroups[2].Lr, 12);
                Assert.Equal(opt.ParamGroups[1].Lr * 0.1, opt.ParamGroups[3].Lr, 12);
                schedule.Step();
            }

            // The default keeps the usual two groups, whatever the caller passes as backbone.
            using var plain = OptimizerFactory.Create(new OptimizerOptions { Lr = 4e-3 }, model.Parameters(), backbone);
            Assert.Equal(2, plain.ParamGroups.Count);
        }
    }

    [Fact]
    public void MultiplierZeroFreezesTheBackboneWhileTheHeadLearns()
    {
        using var run = new TinyRun(seed: 21, images: 8);
        // The run starts from saved weights (model.init_checkpoint), so the backbone can be compared with them.
        var init = Path.Combine(run.Dir, "init.safetensors");
        torch.ManualSeed(5);
        var (start, _) = ModelFactory.Build(ModelConfig.Parse($"model: {TinyRun.Student}", "student"));
        using (start) SafeTensors.Save(init, start.StateDict());
        var config = run.Config("frozen", "{max_epochs: 1, val_interval: 1, log_interval: 1}", "ema: {enabled: false}",
            model: TinyRun.Student[..^1] + $", init_checkpoint: {init.Replace('\\', '/')}}}",
            optimizer: "{type: AdamW, lr: 1.0e-2, weight_decay: 0.05, backbone_lr_mult: 0.0}", schedule: "{type: constant, warmup_iters: 0}");
        var result = run.Train(config);
        Assert.True(result.Completed);
        Assert.True(result.Iterations >= 2);

        var options = ModelConfig.Parse($"model: {TinyRun.Student}", "student");
        var (initial, _) = ModelFactory.Build(options);
        var (trained, _) = ModelFactory.Build(options);
        using (initial)
        using (trained)
        {
            WeightsLoader.LoadInto(initial, init);
            WeightsLoader.LoadInto(trained, result.LastCheckpoint);
            var before = initial.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter);
            int backboneParams = 0, headMoved = 0;
            foreach (var (name, p) in trained.NamedParameters())
            {
                bool same = p.AllClose(before[name], rtol: 0, atol: 0);
                if (name.StartsWith("backbone.", StringComparison.Ordinal))
                {
                    Assert.True(same, $"{name} changed with backbone_lr_mult 0");
                    backboneParams++;
                }
                else if (!same) headMoved++;
            }
            Assert.True(backboneParams > 20, $"{backboneParams} backbone parameters");
            Assert.True(headMoved > 0, "no head parameter changed");
        }
    }
}
