using Distill.Config;
using Distill.Training.Config;
using static Distill.Training.Tests.Config.ConfigTree;

namespace Distill.Training.Tests.Config;

/// <summary>Non-finite numbers and tab indentation are config errors at the line and key that hold them.</summary>
public sealed class NumberAndTabErrorTests : IDisposable
{
    private const string Sources = """
        data:
          sources:
            - {name: coco, format: coco, ann_file: a.json, img_dir: images}
        """;

    private readonly ConfigFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void NonFiniteNumbersInFloatKeysAreErrorsNamingFileLineAndKey()
    {
        var path = _files.Write("nonfinite.yaml", """
            name: n
            small: 1e400
            ratio: .nan
            weights: [1, .inf]
            scores: {ap: -.inf}
            positive: .inf
            """);
        var ex = Assert.Throws<ConfigException>(() => ConfigBinder.Bind<SampleOptions>(ConfigLoader.Load(path)));
        AssertLines(
        [
            $"{path}:2:8: small: 1e400 is not a finite number (it overflows to infinity)",
            $"{path}:3:8: ratio: .nan is not a finite number",
            $"{path}:4:14: weights.1: .inf is not a finite number",
            $"{path}:5:14: scores.ap: -.inf is not a finite number",
        ], Messages(ex));
        // positive is a key where infinity means something (it carries [AllowInfinity]): not an error.
    }

    [Fact]
    public void NonFiniteLearningRateIsRefusedAtItsLineInFileAndOverride()
    {
        var path = _files.Write("lr.yaml", "model: {}\noptimizer:\n  lr: 1e400\n" + Sources);
        var ex = Assert.Throws<ConfigException>(() => ExperimentConfig.Load(path));
        Assert.True(Messages(ex).Contains($"{path}:3:7: optimizer.lr: 1e400 is not a finite number (it overflows to infinity)"), string.Join("\n", Messages(ex)));

        var ok = _files.Write("ok.yaml", "model: {}\n" + Sources);
        var set = Assert.Throws<ConfigException>(() => ExperimentConfig.Load(ok, ["losses.logit_kd.weight=.nan"]));
        Assert.Contains(Messages(set), m => m.Contains("losses.logit_kd.weight: .nan is not a finite number", StringComparison.Ordinal));

        // The p-norm order keeps accepting infinity.
        var inf = ExperimentConfig.Load(ok, ["optimizer.clip_grad.norm_type=.inf"]);
        Assert.Equal(double.PositiveInfinity, inf.Optimizer.ClipGrad!.NormType);
    }

    [Fact]
    public void TabIndentationIsReportedAtTheTabsOwnLine()
    {
        var lines = Enumerable.Range(1, 9).Select(i => $"key{i}: {i}").ToList();
        lines.Add("model:\n\tinput_size: [48, 64]"); // line 10 holds the key, line 11 the tab
        var path = _files.Write("tab.yaml", string.Join("\n", lines) + "\n");
        var ex = Assert.Throws<ConfigException>(() => ConfigLoader.Load(path));
        var error = Assert.Single(ex.Errors);
        Assert.True(error.Location.Line == 11, error.ToString());
        Assert.Contains("tab", error.Message, StringComparison.OrdinalIgnoreCase);

        var flow = _files.Write("tab2.yaml", "a: 1\nb:\n  c: 2\n  d:\n\t- 3\n");
        var ex2 = Assert.Throws<ConfigException>(() => ConfigLoader.Load(flow));
        var error2 = Assert.Single(ex2.Errors);
        Assert.True(error2.Location.Line == 5, error2.ToString());
    }
}
