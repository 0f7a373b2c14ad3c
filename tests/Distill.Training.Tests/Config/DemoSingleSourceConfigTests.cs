using Distill.Config;
using Distill.Pose.Datasets;
using Distill.Pose.Synthetic;
using Distill.TestSupport;
using Distill.Training.Config;
using Distill.Training.Config.Schema;

namespace Distill.Training.Tests.Config;

/// <summary>
/// The single-source demo students are the baseline student on one source: the same network, optimisation and
/// schedule, and as many batches per epoch as the unified student on the demo's data.
/// </summary>
public class DemoSingleSourceConfigTests
{
    private static ExperimentOptions Load(string name, out ConfigMapping resolved) =>
        ExperimentConfig.Load(Path.Combine(SharedData.RepoRoot, "configs", "demo", name + ".yaml"), [], out resolved);

    /// <summary>A section of the merged config as YAML ("absent" when the files leave it to the defaults).</summary>
    private static string Section(ConfigMapping tree, string key) => tree[key] is { } node ? ConfigLoader.ToYaml(node) : "absent";

    [Theory]
    [InlineData("student_coco_only", "coco")]
    [InlineData("student_mpii_only", "mpii")]
    public void SingleSourceStudentIsTheBaselineOnOneSourceWithAsManyStepsPerEpoch(string name, string source)
    {
        var baseline = Load("student_baseline", out var baselineTree);
        var single = Load(name, out var singleTree);
        Assert.Equal("unified21", single.Model.KeypointSet);
        foreach (var key in new[] { "seed", "model", "optimizer", "schedule", "train", "losses", "ema" })
            Assert.Equal(Section(baselineTree, key), Section(singleTree, key));
        Assert.Equal((baseline.Seed, baseline.Data.BatchSize), (single.Seed, single.Data.BatchSize));
        Assert.Empty(single.Teachers);
        var only = Assert.Single(single.Data.Sources);
        Assert.Equal((source, 1.0), (only.Name, only.Ratio));
        Assert.Contains(baseline.Data.Sources, s => s.Name == source && s.AnnFile == only.AnnFile);

        // `./distill demo` draws --images per source (2000 by default), of which the training split is the same size for
        // both; the sampler then gives the single-source epoch as many batches (drop-last) as the unified one.
        foreach (int images in new[] { 2000, 300, 1001 })
        {
            int n = Synth.Split(images).Train;
            var unified = new RatioEpochSampler([n, n], baseline.Data.Sources.Select(s => s.Ratio).ToArray());
            var alone = new RatioEpochSampler([n], [only.Ratio]);
            Assert.Equal(unified.EpochLength / baseline.Data.BatchSize, alone.EpochLength / single.Data.BatchSize);
        }
        Assert.Equal(1800, new RatioEpochSampler([1800], [only.Ratio]).EpochLength);
    }
}
