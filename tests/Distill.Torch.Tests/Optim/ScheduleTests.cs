using Distill.Torch.Optim;
using static Distill.Torch.Tests.Optim.OptimTestUtil;

namespace Distill.Torch.Tests.Optim;

public class ScheduleTests
{
    private static SGD OneGroup(Tensor w, double lr) => new([w], lr: lr);

    [Fact]
    public void LinearWarmupFactorRisesToOneAtTheLastActiveIteration()
    {
        var s = new LinearWarmup(startFactor: 1e-5, end: 1000);
        // T = end - begin - 1 = 999.
        Assert.Equal(999, s.TotalIters);
        Assert.Equal(1e-5, s.FactorAt(0));
        // k = 500: 1e-5 + (1 - 1e-5)·500/999 = 1e-5 + 0.99999·0.5005005005… = 0.5005054954954955
        Assert.Equal(0.5005054954954955, s.FactorAt(500), 14);
        Assert.Equal(1.0, s.FactorAt(999));
        Assert.Equal(1.0, s.FactorAt(5000));
    }

    [Fact]
    public void GeometricWarmupMultipliesByOneRatioPerStep()
    {
        // n = 3 steps from 1e-3 to 1: factors 1e-3, 1e-2, 1e-1, 1, each 10x the last, and 1 afterwards.
        var s = new GeometricWarmup(1e-3, end: 4);
        Assert.Equal(3, s.TotalIters);
        Assert.Equal(1e-3, s.FactorAt(0), 15);
        Assert.Equal(1e-2, s.FactorAt(1), 15);
        Assert.Equal(1e-1, s.FactorAt(2), 15);
        Assert.Equal(1.0, s.FactorAt(3));
        Assert.Equal(1.0, s.FactorAt(100));
        Assert.Equal(2e-3 * 1e-2, s.Apply(2e-3, 2e-3, 1), 15);
    }

    [Fact]
    public void MultiStepSpreadDecaysGeometricallyOverTheSpread()
    {
        // Milestone 10, gamma 0.1 spread over 4 steps: 0.1^(1/4) per step from step 10 to 14, then 0.1; with a
        // second milestone at 20 the factor is 0.1 x 0.1^(1/2) at step 22. Spread 0 is the plain step decay.
        var s = new MultiStep([10, 20], 0.1, byEpoch: false, spread: 4);
        Assert.Equal(1.0, s.Apply(1, 1, 9));
        Assert.Equal(1.0, s.Apply(1, 1, 10));
        Assert.Equal(Math.Pow(0.1, 0.25), s.Apply(1, 1, 11), 14);
        Assert.Equal(Math.Pow(0.1, 0.75), s.Apply(1, 1, 13), 14);
        Assert.Equal(0.1, s.Apply(1, 1, 14), 14);
        Assert.Equal(0.1, s.Apply(1, 1, 19), 14);
        Assert.Equal(0.1 * Math.Pow(0.1, 0.5), s.Apply(1, 1, 22), 14);
        var plain = new MultiStep([10, 20], 0.1, byEpoch: false);
        Assert.Equal((1.0, 0.1, 0.1 * 0.1), (plain.Apply(1, 1, 9), plain.Apply(1, 1, 10), plain.Apply(1, 1, 20)));
        // Counted in epochs, the spread scales with the milestones.
        var epochs = (MultiStep)new MultiStep([2], 0.1, byEpoch: true, spread: 1).ToIterBased(10);
        Assert.Equal((20L, 10L), (epochs.Milestones[0], epochs.Spread));
    }

    [Fact]
    public void LinearWarmupClosedFormEqualsMmengineRecursiveForm()
    {
        // mmengine: lr_0 = base·start; lr_k = lr_{k-1}·(1 + (end - start) / (T·start + (k - 1)·(end - start))).
        const double start = 1e-3, end = 1.0, baseLr = 4e-3;
        var s = new LinearWarmup(start, end: 500, endFactor: end);
        long total = s.TotalIters;
        double lr = baseLr * start;
        Rel(lr, s.Apply(baseLr, baseLr, 0));
        for (long k = 1; k <= total; k++)
        {
            lr *= 1 + (end - start) / (total * start + (k - 1) * (end - start));
            Assert.True(Math.Abs(lr - s.Apply(baseLr, baseLr, k)) <= 1e-12 * baseLr, $"k = {k}: {lr:R} vs {s.Apply(baseLr, baseLr, k):R}");
        }
    }

    [Fact]
    public void RtmPoseRecipeWarmsUpHoldsThenAnnealsToFivePercent()
    {
        // RTMPose: AdamW lr 4e-3; LinearLR start 1e-5 over iterations [0, 1000); CosineAnnealingLR with
        // eta_min = 0.05·lr = 2e-4 from epoch 210 to 420 (T_max 210), by epoch converted to iterations.
        // 100 iterations per epoch here, so the cosine runs over iterations [21000, 42000), T_max = 21000.
        using var w = Param(0.0);
        using var opt = new AdamW([w], lr: 4e-3, weightDecay: 0);
        var chain = new ScheduleChain(opt,
        [
            new LinearWarmup(1e-5, end: 1000),
            new CosineAnnealing(begin: 210, end: 420, tMax: 210, etaMin: 2e-4, byEpoch: true, convertToIterBased: true),
        ], itersPerEpoch: 100);

        var cosine = Assert.IsType<CosineAnnealing>(chain.Schedules[1]);
        Assert.Equal((21000L, 42000L, 21000L, false), (cosine.Begin, cosine.End, cosine.TMax, cosine.ByEpoch));

        Rel(4e-8, chain.LrAt(0));                              // 4e-3·1e-5
        Rel(4e-3 * 0.5005054954954955, chain.LrAt(500));       // 4e-3·factor(500)
        Rel(4e-3, chain.LrAt(999));
        Rel(4e-3, chain.LrAt(1000));                           // flat
        Rel(4e-3, chain.LrAt(20999));
        Rel(4e-3, chain.LrAt(21000));                          // cosine k = 0: cos 0 = 1
        Rel(2.1e-3, chain.LrAt(31500));                        // k = T/2: 2e-4 + 3.8e-3·(1 + 0)/2
        // k = 20999: (1 + cos(π·20999/21000))/2 = sin²(π/42000), so 2e-4 + 3.8e-3·sin²(π/42000) ≈ 2.0000002126e-4.
        double last = 2e-4 + 3.8e-3 * Math.Pow(Math.Sin(Math.PI / 42000), 2);
        Rel(last, chain.LrAt(41999));
        Rel(last, chain.LrAt(50000));                          // past the end: holds the last value

        // Stepping sets the optimizer's rate; iteration 0's rate is set at construction.
        Rel(4e-8, opt.ParamGroups[0].Lr);
        for (int i = 0; i < 500; i++) chain.Step();
        Assert.Equal(500, chain.Iteration);
        Assert.Equal(chain.LrAt(500), opt.ParamGroups[0].Lr);
        Assert.Equal(4e-3, opt.ParamGroups[0].InitialLr);
    }

    [Fact]
    public void EpochScheduleWithoutConversionChangesAtEpochBoundaries()
    {
        using var w = Param(0.0);
        using var opt = OneGroup(w, 1.0);
        var chain = new ScheduleChain(opt, [new CosineAnnealing(begin: 0, end: 10, byEpoch: true)], itersPerEpoch: 100);
        // Epoch 1 = iterations 100..199: (1 + cos(π/10))/2 = 0.9755282581475768.
        Assert.Equal(0.9755282581475768, chain.LrAt(150), 15);
        Assert.Equal(chain.LrAt(100), chain.LrAt(199));
        Assert.NotEqual(chain.LrAt(199), chain.LrAt(200));
    }

    [Fact]
    public void MultiStepDecaysAtMilestonesAfterWarmup()
    {
        // mmpose's HRNet recipe: LinearLR start 0.001 over 500 iterations; MultiStepLR milestones [170, 200]
        // epochs, gamma 0.1, end 210. Here 10 iterations per epoch.
        using var w = Param(0.0);
        using var opt = OneGroup(w, 5e-4);
        var chain = new ScheduleChain(opt,
        [
            new LinearWarmup(0.001, end: 500),
            new MultiStep([170, 200], gamma: 0.1, begin: 0, end: 210, byEpoch: true),
        ], itersPerEpoch: 10);
        Rel(5e-4 * (0.001 + 0.999 * 250 / 499), chain.LrAt(250));  // warm-up, epoch 25 (no decay yet)
        Rel(5e-4, chain.LrAt(1699));                             // epoch 169
        Rel(5e-5, chain.LrAt(1700));                             // epoch 170: ·0.1
        Rel(5e-6, chain.LrAt(2000));                             // epoch 200: ·0.01
        Rel(5e-6, chain.LrAt(2500));                             // past end 210: held
    }

    [Fact]
    public void ConstantScalesUntilTheLastActiveStep()
    {
        var s = new Constant(0.5, begin: 0, end: 10, byEpoch: false);
        // mmengine ConstantLR: factor for k < end - begin - 1 = 9, restored at k = 9 and after.
        Assert.Equal(0.5, s.Apply(1.0, 1.0, 0));
        Assert.Equal(0.5, s.Apply(1.0, 1.0, 8));
        Assert.Equal(1.0, s.Apply(1.0, 1.0, 9));
        Assert.Equal(1.0, s.Apply(1.0, 1.0, 20));
        Assert.Equal(0.5, new Constant(0.5, byEpoch: false).Apply(1.0, 1.0, 1_000_000)); // no end: factor for good
    }

    [Fact]
    public void EtaMinRatioFollowsEachGroupsBaseRate()
    {
        using var a = Param(0.0);
        using var b = Param(0.0);
        using var opt = new SGD([new ParamGroup([a]), new ParamGroup([b]) { Lr = 0.1 }], lr: 1.0);
        var chain = new ScheduleChain(opt, [new CosineAnnealing(begin: 0, end: 100, tMax: 50, etaMinRatio: 0.05, byEpoch: false)]);
        // k = 25 = T/2: η_min + (base - η_min)/2 -> 0.05 + 0.95/2 = 0.525 and 0.005 + 0.095/2 = 0.0525.
        Assert.Equal(0.525, chain.LrAt(25, 0), 15);
        Assert.Equal(0.0525, chain.LrAt(25, 1), 15);
        // k = T: the floor, 5 % of each base.
        Assert.Equal(0.05, chain.LrAt(50, 0), 15);
        Assert.Equal(0.005, chain.LrAt(50, 1), 15);
    }

    [Fact]
    public void IterationSavesAndRestores()
    {
        using var w = Param(0.0);
        using var opt = OneGroup(w, 0.2);
        LrSchedule[] segments = [new LinearWarmup(0.1, end: 20)];
        var chain = new ScheduleChain(opt, segments);
        for (int i = 0; i < 7; i++) chain.Step();
        var state = chain.StateDict();

        using var w2 = Param(0.0);
        using var opt2 = OneGroup(w2, 0.2);
        var chain2 = new ScheduleChain(opt2, segments);
        chain2.LoadStateDict(state);
        Assert.Equal(7, chain2.Iteration);
        // 0.2·(0.1 + 0.9·7/19)
        Rel(0.2 * (0.1 + 0.9 * 7 / 19), opt2.ParamGroups[0].Lr);
        chain.Step();
        chain2.Step();
        Assert.Equal(opt.ParamGroups[0].Lr, opt2.ParamGroups[0].Lr);
    }

    [Fact]
    public void BadSegmentsAreRejected()
    {
        using var w = Param(0.0);
        using var opt = OneGroup(w, 0.1);
        Assert.Throws<ArgumentOutOfRangeException>(() => new CosineAnnealing(begin: 5, end: 5));
        Assert.Throws<ArgumentException>(() => new CosineAnnealing(begin: 0, end: 5, etaMin: 0, etaMinRatio: 0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LinearWarmup(1.5, end: 10));
        var ex = Assert.Throws<ArgumentException>(() => new ScheduleChain(opt, [new MultiStep([3])]));
        Assert.Contains("iters per epoch", ex.Message);
    }
}
