using System.Text.Json;
using Distill.Training.Engine;
using Distill.Training.Logging;

namespace Distill.Training.Tests.Engine;

/// <summary>
/// Distillation runs read through their run directory: several teachers with their own keypoint sets, a heatmap
/// teacher for a SimCC student, and the KD weight schedules.
/// </summary>
[Collection(TrainerCollection.Name)]
public sealed class DistillationRunTests(DistillationRunTests.Data data) : IClassFixture<DistillationRunTests.Data>
{
    /// <summary>One synthetic COCO and MPII set for all of these runs (each writes its own teachers and work directory).</summary>
    public sealed class Data : IDisposable
    {
        internal TinyRun Run { get; } = new(seed: 11, images: 8, mpiiImages: 8);

        public void Dispose() => Run.Dispose();
    }

    private TinyRun Run => data.Run;

    private const string Unified21Student =
        "{keypoint_set: unified21, input_size: [48, 64], backbone: {type: CSPNeXt, deepen_factor: 0.167, widen_factor: 0.125}, " +
        "head: {type: RTMCCHead, gau: {hidden_dims: 32, s: 16}}, codec: {type: SimCCLabel, sigma: [1.5, 1.5], normalize: false}}";

    private const string CocoTeacher =
        "{keypoint_set: coco17, input_size: [48, 64], backbone: {type: CSPNeXt, deepen_factor: 0.167, widen_factor: 0.125}, " +
        "head: {type: RTMCCHead, gau: {hidden_dims: 32, s: 16}}, codec: {type: SimCCLabel, sigma: [1.5, 1.5], normalize: false}}";

    /// <summary>Square input: its crop of a person is wider than the student's, so its bins map through the crop geometry.</summary>
    private const string MpiiTeacher =
        "{keypoint_set: mpii16, input_size: [64, 64], backbone: {type: CSPNeXt, deepen_factor: 0.167, widen_factor: 0.125}, " +
        "head: {type: RTMCCHead, gau: {hidden_dims: 32, s: 16}}, codec: {type: SimCCLabel, sigma: [2.0, 2.0], normalize: false}}";

    /// <summary>A heatmap teacher: stride-16 features, two x2 deconvolutions, 16x16 MSRA heatmaps for its 64x64 input.</summary>
    private const string HeatmapTeacher =
        "{keypoint_set: coco17, input_size: [64, 64], backbone: {type: CSPNeXt, deepen_factor: 0.167, widen_factor: 0.125, out_indices: [3]}, " +
        "head: {type: HeatmapHead, deconv_out_channels: [16, 16], deconv_kernel_sizes: [4, 4]}, codec: {type: MSRAHeatmap, sigma: [2.0]}}";

    private static List<MetricsRecord> StepRecords(TrainingResult r) =>
        MetricsLog.Read(Path.Combine(r.WorkDir, MetricsLog.FileName)).Where(x => x.Metrics.ContainsKey("train/loss")).ToList();

    private static double Mean(TrainingResult r, string key, int epoch) =>
        MetricsLog.Read(Path.Combine(r.WorkDir, MetricsLog.FileName)).Single(x => x.Epoch == epoch && x.Metrics.ContainsKey(key)).Metrics[key];

    [Fact]
    public void TwoTeachersWithTheirOwnKeypointSetsEachLogATermAndTheTotalIsTheirSum()
    {
        var run = Run;
        var coco = run.Teacher("coco", CocoTeacher, seed: 101);
        var mpii = run.Teacher("mpii", MpiiTeacher, seed: 102, "weight: 0.5");
        var config = run.Config("two", "{max_epochs: 2, val_interval: 2, log_interval: 1}", $$$"""
            ema: {enabled: false}
            losses: {logit_kd: {weight: 1.0}}
            teachers:
              - {{{coco}}}
              - {{{mpii}}}
            """, model: Unified21Student, sources: [run.CocoSource, run.MpiiSource],
            evaluation: "{metrics: [coco, pckh, pck], best_metric: coco/AP}");
        var result = run.Train(config);
        Assert.True(result.Completed);

        var steps = StepRecords(result);
        Assert.NotEmpty(steps);
        Assert.Contains(steps, r => r.Epoch == 1); // both epochs trained
        var terms = new[] { "train/loss_kpt", "train/loss_kd/coco", "train/loss_kd/mpii" };
        foreach (var r in steps)
        {
            // Exactly these three terms: nothing else is folded into the total unseen.
            Assert.Equal(terms.Order(), r.Metrics.Keys.Where(k => k.StartsWith("train/loss", StringComparison.Ordinal) && k != "train/loss").Order());
            foreach (var t in terms[1..])
                Assert.True(double.IsFinite(r.Metrics[t]) && r.Metrics[t] > 0, $"{t} = {r.Metrics[t]} at step {r.Step}");
            double sum = terms.Sum(t => r.Metrics[t]);
            Assert.True(Math.Abs(r.Metrics["train/loss"] - sum) <= 1e-9 * Math.Max(1, sum), $"loss {r.Metrics["train/loss"]} != sum of terms {sum} at step {r.Step}");
        }
        // Two different networks on different crops: two different terms, not one value logged twice.
        Assert.Contains(steps, r => r.Metrics["train/loss_kd/coco"] != r.Metrics["train/loss_kd/mpii"]);
        // The epoch means carry both terms too, and the summary names both teachers.
        foreach (var t in new[] { "epoch/loss_kd/coco", "epoch/loss_kd/mpii" })
            Assert.True(double.IsFinite(Mean(result, t, 2)) && Mean(result, t, 2) > 0, t);
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(result.WorkDir, "summary.json")));
        Assert.Equal(new[] { "coco", "mpii" }, summary.RootElement.GetProperty("teachers").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public void HeatmapTeacherDistilsIntoASimccStudent()
    {
        var run = Run;
        var teacher = run.Teacher("hm", HeatmapTeacher, seed: 103);
        // No ground-truth term: the student learns from the teacher alone, so its KD term has to fall.
        var config = run.Config("hm-kd", "{max_epochs: 3, val_interval: 3, log_interval: 1}", $$$"""
            ema: {enabled: false}
            losses: {gt: {weight: 0.0}, logit_kd: {weight: 1.0}}
            teachers:
              - {{{teacher}}}
            """);
        var result = run.Train(config);
        Assert.True(result.Completed);
        var steps = StepRecords(result);
        Assert.NotEmpty(steps);
        Assert.All(steps, r => Assert.True(double.IsFinite(r.Metrics["train/loss_kd/hm"]) && r.Metrics["train/loss_kd/hm"] > 0,
            $"loss_kd/hm = {r.Metrics["train/loss_kd/hm"]} at step {r.Step}"));
        double first = Mean(result, "epoch/loss_kd/hm", 1), last = Mean(result, "epoch/loss_kd/hm", 3);
        Assert.True(last < first, $"KD from the heatmap teacher did not fall: epoch 1 mean {first}, epoch 3 mean {last}");
    }

    /// <summary>
    /// With the learning rate at 0 from the first step (multistep, milestone 0, gamma 0) the student never changes, so
    /// the unweighted KD of every step is the same in every run and a scheduled run's logged term divided by the
    /// constant run's is exactly the schedule's factor for that epoch.
    /// </summary>
    [Fact]
    public void KdWeightSchedulesScaleEachEpochsTermByTheirFactor()
    {
        var run = Run;
        var teacher = run.Teacher("t", CocoTeacher, seed: 104);
        TrainingResult Train(string schedule) => run.Train(run.Config(schedule, "{max_epochs: 3, val_interval: 3, log_interval: 1}", $$$"""
            ema: {enabled: false}
            losses: {logit_kd: {weight: 1.0, schedule: {{{schedule}}}}}
            teachers:
              - {{{teacher}}}
            """, schedule: "{type: multistep, milestones: [0], gamma: 0.0, warmup_iters: 0}",
            // Half the instances per epoch and no flip at validation: the check needs steps in three epochs, not many.
            sources: [run.CocoSource[..^1] + ", ratio: 0.5}"], evaluation: "{metrics: [coco], best_metric: coco/AP, flip_test: false}"));
        var constant = StepRecords(Train("constant"));
        Assert.All(constant, r => Assert.Equal(0.0, r.Metrics["train/lr"]));
        Assert.Equal(new[] { 0, 1, 2 }, constant.Select(r => r.Epoch).Distinct().Order());

        // Factors by hand for 3 epochs: linear 1 - e/3; cosine (1 + cos(pi e / 3)) / 2 with cos(pi/3) = 1/2, cos(2pi/3) = -1/2.
        var expected = new Dictionary<string, double[]>
        {
            ["linear"] = [1.0, 2.0 / 3.0, 1.0 / 3.0],
            ["cosine"] = [1.0, 0.75, 0.25],
        };
        foreach (var (schedule, factors) in expected)
        {
            var scheduled = StepRecords(Train(schedule));
            Assert.Equal(constant.Select(r => (r.Step, r.Epoch)), scheduled.Select(r => (r.Step, r.Epoch)));
            for (int i = 0; i < constant.Count; i++)
            {
                var (c, s) = (constant[i].Metrics, scheduled[i].Metrics);
                // Same weights, same batch: the ground-truth term is the same, and is not scheduled.
                Assert.True(Math.Abs(s["train/loss_kpt"] - c["train/loss_kpt"]) <= 1e-6 * c["train/loss_kpt"],
                    $"{schedule}: step {constant[i].Step} saw a different student (loss_kpt {s["train/loss_kpt"]} vs {c["train/loss_kpt"]})");
                double ratio = s["train/loss_kd/t"] / c["train/loss_kd/t"];
                double factor = factors[constant[i].Epoch];
                Assert.True(Math.Abs(ratio - factor) <= 1e-6, $"{schedule}: epoch {constant[i].Epoch}, step {constant[i].Step}: KD ratio {ratio}, expected {factor}");
            }
        }
    }

    /// <summary>
    /// teachers[].sources in a training run: two teachers, each for its own source. The first step sees the same student
    /// and batch with and without the option, so the ground-truth term is the same and the KD terms are not (each is
    /// now averaged over its source's samples of the batch only).
    /// </summary>
    [Fact]
    public void TeachersSpeakingForTheirOwnSourcesTrain()
    {
        var run = Run;
        TrainingResult Train(string name, string cocoOptions, string mpiiOptions)
        {
            var coco = run.Teacher("sc", CocoTeacher, seed: 105, cocoOptions);
            var mpii = run.Teacher("sm", MpiiTeacher, seed: 106, mpiiOptions);
            return run.Train(run.Config(name, "{max_epochs: 1, val_interval: 1, log_interval: 1}", $$$"""
                ema: {enabled: false}
                losses: {logit_kd: {weight: 1.0, mask_unknown: true}}
                teachers:
                  - {{{coco}}}
                  - {{{mpii}}}
                """, model: Unified21Student, sources: [run.CocoSource, run.MpiiSource], batchSize: 8,
                evaluation: "{metrics: [pck], best_metric: coco/PCK@0.1, flip_test: false}"));
        }
        var selected = Train("by-source", "sources: [coco]", "sources: [mpii]");
        var plain = Train("all-sources", "", "");
        Assert.True(selected.Completed && plain.Completed);
        Assert.Equal(2, selected.Iterations);
        var (s, p) = (StepRecords(selected), StepRecords(plain));
        Assert.Equal(2, s.Count);
        foreach (var r in s)
            foreach (var t in new[] { "train/loss_kd/sc", "train/loss_kd/sm" })
                Assert.True(double.IsFinite(r.Metrics[t]) && r.Metrics[t] > 0, $"{t} = {r.Metrics[t]} at step {r.Step}");
        var (a, b) = (s[0].Metrics, p[0].Metrics);
        Assert.True(Math.Abs(a["train/loss_kpt"] - b["train/loss_kpt"]) <= 1e-6 * b["train/loss_kpt"], $"loss_kpt {a["train/loss_kpt"]} vs {b["train/loss_kpt"]}");
        foreach (var t in new[] { "train/loss_kd/sc", "train/loss_kd/sm" })
            Assert.True(Math.Abs(a[t] - b[t]) > 1e-4 * b[t], $"{t}: {a[t]} with sources, {b[t]} without");
    }
}
