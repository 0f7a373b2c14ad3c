using Distill.Pose.Models.Checkpoints;
using Distill.Training.Distillation;
using Distill.Torch;
using Distill.Torch.Nn;
using Distill.Training.Checkpoints;
using Distill.Training.Logging;
using Distill.Training.Engine;

namespace Distill.Training.Tests.Engine;

/// <summary>
/// model.channels_last trains the student with NHWC weights and batches. That only reorders floating-point work: a run
/// in either layout from the same weights and batches computes the same losses and ends at the same weights up to
/// rounding, and checkpoints carry no layout, so a run resumes in either one.
/// </summary>
[Collection(TrainerCollection.Name)]
public sealed class ChannelsLastStudentTests : IDisposable
{
    private const string Train = "{max_epochs: 2, val_interval: 2, log_interval: 1}";
    private static readonly string[] DefaultLayout = ["model.channels_last=false"];

    // Convolutions and BN statistics sum in another order in NHWC, so the layouts agree to rounding, not bit for bit:
    // the first step's gradients already differ by up to ~3e-5 relative where they cancel most (BN affine gradients),
    // and the difference grows over the steps. A layout mix-up (weights read in the wrong order) is off by ~1e-1.

    /// <summary>Per-step losses: relative to the loss (measured below 1e-5 over the 2 epochs here).</summary>
    private const double LossRtol = 1e-5;

    /// <summary>
    /// Weights and BN statistics: relative to the tensor's largest magnitude. Measured at most 4.1e-5, in the running
    /// mean of the last stage, which sums activations that already carry the weights' differences.
    /// </summary>
    private const double WeightRtol = 1e-4;

    /// <summary>
    /// Plus 2% of one AdamW step (lr 1e-3 in <see cref="TinyRun"/>). AdamW moves each element by lr·m/(√v + eps), so an
    /// element whose gradient is at rounding level (|g| near eps = 1e-8) turns a rounding difference in g into a step
    /// difference of up to lr·Δg/eps; parameters that start at zero (BN biases) are all such difference and no
    /// magnitude. Measured at most 1.0e-5 (the head's final conv).
    /// </summary>
    private const double AdamStepAtol = 2e-5;

    private readonly TinyRun _run = new(seed: 6);

    public void Dispose() => _run.Dispose();

    [Fact]
    public void ChannelsLastStudentTrainsAsTheDefaultLayoutDoes()
    {
        var config = _run.Config("nhwc", Train);
        var nhwc = TrainChecked(config, channelsLast: true);
        var nchw = TrainChecked(_run.Config("nchw", Train), channelsLast: false, DefaultLayout);
        Assert.True(nhwc.Completed && nchw.Completed);
        Assert.Equal(nchw.Iterations, nhwc.Iterations);
        Assert.True(nhwc.Iterations >= 4, $"only {nhwc.Iterations} steps");

        AssertSameLosses(Losses(nchw.WorkDir), Losses(nhwc.WorkDir));
        AssertSameWeights(nchw.LastCheckpoint, nhwc.LastCheckpoint, WeightsLoader.StudentPrefix);
        AssertSameWeights(nchw.LastCheckpoint, nhwc.LastCheckpoint, WeightsLoader.EmaPrefix);
    }

    [Fact]
    public void ARunResumesInTheOtherLayoutWhereItStopped()
    {
        var straight = TrainChecked(_run.Config("straight", Train), channelsLast: true);

        // Stopped after its third step in one layout, resumed in the other: the optimizer state, EMA and weights of
        // the checkpoint carry over, so the run ends where the straight run (channels-last throughout) ended.
        foreach (bool firstChannelsLast in new[] { true, false })
        {
            string name = firstChannelsLast ? "nhwc-then-nchw" : "nchw-then-nhwc";
            var config = _run.Config(name, Train);
            using (var cts = new CancellationTokenSource())
            using (var trainer = _run.Trainer(config, set: firstChannelsLast ? null : DefaultLayout))
            {
                int steps = 0;
                trainer.AfterStep = (_, _, _) =>
                {
                    AssertLayout(trainer, firstChannelsLast);
                    if (++steps == 3) cts.Cancel();
                };
                Assert.False(trainer.Run(cts.Token).Completed);
            }
            var resumed = TrainChecked(config, !firstChannelsLast, firstChannelsLast ? DefaultLayout : null, resume: "");
            Assert.True(resumed.Completed);
            Assert.Equal(straight.Iterations, resumed.Iterations);
            AssertSameLosses(Losses(straight.WorkDir), Losses(resumed.WorkDir));
            AssertSameWeights(straight.LastCheckpoint, resumed.LastCheckpoint, WeightsLoader.StudentPrefix);
            AssertSameWeights(straight.LastCheckpoint, resumed.LastCheckpoint, WeightsLoader.EmaPrefix);
        }
    }

    /// <summary>Trains <paramref name="config"/> checking after every step that every network has the expected layout.</summary>
    private TrainingResult TrainChecked(string config, bool channelsLast, IReadOnlyList<string>? set = null, string? resume = null)
    {
        using var trainer = _run.Trainer(config, resume, set);
        int steps = 0;
        trainer.AfterStep = (_, _, _) =>
        {
            AssertLayout(trainer, channelsLast);
            steps++;
        };
        var result = trainer.Run(CancellationToken.None);
        Assert.True(steps > 0);
        return result;
    }

    /// <summary>
    /// Every 4-d parameter of every network in use (student, EMA, self-teacher, feature-KD adapters) is stored in the
    /// expected layout. Kernels larger than 1x1 with more than one input channel tell the layouts apart; 1x1 ones are
    /// both at once.
    /// </summary>
    internal static void AssertLayout(Trainer trainer, bool channelsLast)
    {
        var want = channelsLast ? MemoryFormat.ChannelsLast : MemoryFormat.Contiguous;
        var other = channelsLast ? MemoryFormat.Contiguous : MemoryFormat.ChannelsLast;
        int distinct = 0;
        foreach (var (role, net) in trainer.Networks)
        {
            foreach (var (name, p) in net.NamedParameters())
            {
                if (p.Dim != 4) continue;
                Assert.True(p.IsContiguous(want), $"{role}.{name} is not {want}");
                if (p.Size(1) > 1 && p.Size(2) * p.Size(3) > 1)
                {
                    Assert.False(p.IsContiguous(other), $"{role}.{name} is {other}");
                    distinct++;
                }
            }
        }
        Assert.True(distinct > 0, "no weight whose layout could be checked");
    }

    /// <summary>Per-step loss terms (train/loss*), keyed by (name, step).</summary>
    internal static Dictionary<(string Name, long Step), double> Losses(string workDir)
    {
        var lines = new Dictionary<(string, long), double>();
        foreach (var r in MetricsLog.Read(Path.Combine(workDir, MetricsLog.FileName)))
            foreach (var (name, value) in r.Metrics)
                if (name.StartsWith("train/loss", StringComparison.Ordinal) || name.StartsWith("self_distill/train/loss", StringComparison.Ordinal))
                    Assert.True(lines.TryAdd((name, r.Step), value), $"{name} logged twice at step {r.Step}");
        return lines;
    }

    private static void AssertSameLosses(Dictionary<(string Name, long Step), double> want, Dictionary<(string Name, long Step), double> got)
    {
        Assert.NotEmpty(want);
        Assert.Equal(want.Keys.Order(), got.Keys.Order());
        foreach (var (key, value) in want)
            Assert.True(Math.Abs(value - got[key]) <= LossRtol * Math.Abs(value), $"{key}: {value:R} vs {got[key]:R}");
    }

    /// <summary>
    /// The tensors under <paramref name="prefix"/> of two checkpoints agree: floating-point ones elementwise within
    /// <see cref="WeightRtol"/> of the tensor's largest magnitude plus <see cref="AdamStepAtol"/>, integer ones (BN
    /// batch counters) exactly.
    /// </summary>
    private static void AssertSameWeights(string pathA, string pathB, string prefix)
    {
        using var a = CheckpointStore.Load(pathA);
        using var b = CheckpointStore.Load(pathB);
        var ta = a.WithPrefix(prefix);
        var tb = b.WithPrefix(prefix);
        Assert.NotEmpty(ta);
        Assert.Equal(ta.Keys.Order(), tb.Keys.Order());
        using var scope = torch.NewDisposeScope();
        foreach (var (key, t) in ta)
        {
            if (!t.DType.IsFloatingPoint())
            {
                Assert.True(t.Eq(tb[key]).All().ItemLong() == 1, $"{prefix}{key} differs");
                continue;
            }
            double scale = t.Abs().Max().ItemDouble();
            double diff = (t - tb[key]).Abs().Max().ItemDouble();
            Assert.True(diff <= WeightRtol * scale + AdamStepAtol, $"{prefix}{key}: max difference {diff:G3} for max magnitude {scale:G3}");
        }
    }
}
