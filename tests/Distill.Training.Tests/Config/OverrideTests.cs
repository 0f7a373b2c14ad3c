using Distill.Training.Config;
using Distill.Training.Config.Schema;
using static Distill.Training.Tests.Config.ConfigTree;
using Distill.Config;

namespace Distill.Training.Tests.Config;

public sealed class OverrideTests : IDisposable
{
    private const string Experiment = """
        model:
          keypoint_set: coco17
          codec:
            type: SimCCLabel
            sigma: [4.9, 5.66]
        data:
          sources:
            - name: coco
              format: coco
              ann_file: coco/train.json
              img_dir: coco/train2017
        teachers:
          - name: rtmpose-m-coco
            checkpoint: m_coco.pth
          - name: rtmpose-m-mpii
            checkpoint: m_mpii.pth
        optimizer:
          lr: 0.004
        """;

    private readonly ConfigFiles _files = new();
    private readonly string _path;

    public OverrideTests()
    {
        _path = _files.Write("exp.yaml", Experiment);
    }

    public void Dispose() => _files.Dispose();

    private string[] Errors(params string[] overrides) =>
        Messages(Assert.Throws<ConfigException>(() => ExperimentConfig.Load(_path, overrides)));

    [Fact]
    public void ScalarOverridesReplaceValuesAndCreateAbsentSections()
    {
        var exp = ExperimentConfig.Load(_path, ["optimizer.lr=0.001", "ema.enabled=false", "name=night run", "seed=42"]);

        Assert.Equal(0.001, exp.Optimizer.Lr);
        Assert.False(exp.Ema.Enabled);
        Assert.Equal("night run", exp.Name);
        Assert.Equal(42, exp.Seed);
        Assert.Equal("experiments/night run", exp.WorkDir);
    }

    [Fact]
    public void ListOverridesReplaceTheWholeList()
    {
        var exp = ExperimentConfig.Load(_path, ["evaluation.metrics=[coco,pckh]", "model.input_size=[256, 256]", "model.codec.sigma=[5.66]"]);

        Assert.Equal([MetricFamily.Coco, MetricFamily.Pckh], exp.Evaluation.Metrics);
        Assert.Equal([256, 256], exp.Model.InputSize);
        Assert.Equal([5.66], exp.Model.Codec.Sigma!);
    }

    [Fact]
    public void NumericSegmentsIndexLists()
    {
        // An MPII-format source has no COCO AP, so the best metric moves to one it has.
        var exp = ExperimentConfig.Load(_path, ["teachers.0.weight=0.5", "teachers.1.fold_bn=false", "data.sources.0.format=mpii",
            "evaluation.best_metric=coco/PCK@0.1"]);

        Assert.Equal(0.5, exp.Teachers[0].Weight);
        Assert.Equal(1.0, exp.Teachers[1].Weight);
        Assert.False(exp.Teachers[1].FoldBn);
        Assert.Equal(DataFormat.Mpii, exp.Data.Sources[0].Format);
    }

    [Fact]
    public void MappingValuesMergeIntoTheSectionTheyLandOn()
    {
        var exp = ExperimentConfig.Load(_path, ["optimizer.clip_grad={max_norm: 35}", "optimizer={weight_decay: 0.0}"]);

        Assert.Equal(35, exp.Optimizer.ClipGrad!.MaxNorm);
        Assert.Equal(2.0, exp.Optimizer.ClipGrad.NormType);
        Assert.Equal(0.004, exp.Optimizer.Lr);
        Assert.Equal(0.0, exp.Optimizer.WeightDecay);
    }

    [Fact]
    public void LaterOverridesWinAndAnEmptyValueIsNull()
    {
        var exp = ExperimentConfig.Load(_path, ["optimizer.clip_grad={max_norm: 1}", "optimizer.clip_grad=", "seed=1", "seed=2"]);

        Assert.Null(exp.Optimizer.ClipGrad);
        Assert.Equal(2, exp.Seed);
    }

    [Fact]
    public void TopLevelCodecSpellingAddressesTheModelCodec()
    {
        var exp = ExperimentConfig.Load(_path, ["codec.sigma=[6, 6]"], out var resolved);

        Assert.Equal([6.0, 6.0], exp.Model.Codec.Sigma!);
        Assert.Equal(["6", "6"], Values(resolved, "model.codec.sigma"));
        Assert.Null(resolved["codec"]);
    }

    [Fact]
    public void UnknownKeysSuggestTheClosestSchemaKey()
    {
        // Reported in tree order: teachers and optimizer are in the file, optimzer is a new key at the end.
        AssertLines(
        [
            "--set teachers.1.wieght=2: teachers.1.wieght: unknown key (did you mean 'weight'?)",
            "--set optimizer.lrr=0.1: optimizer.lrr: unknown key (did you mean 'lr'?)",
            "--set optimzer.lr=0.1: optimzer: unknown key (did you mean 'optimizer'?)",
        ], Errors("optimizer.lrr=0.1", "optimzer.lr=0.1", "teachers.1.wieght=2"));
    }

    [Fact]
    public void PathsThatCannotBeFollowedAreErrors()
    {
        AssertLines(
        [
            "--set teachers.2.weight=1: teachers.2: index 2 is out of range (the list has 2 items)",
            "--set teachers.first.weight=1: teachers: is a list; 'first' is not an item index",
            "--set optimizer.lr.x=1: optimizer.lr: holds the value '0.004'; cannot set 'x' inside it",
            "--set losses.extra.0=1: losses.extra: there is no list here to index with 0",
        ], Errors("teachers.2.weight=1", "teachers.first.weight=1", "optimizer.lr.x=1", "losses.extra.0=1"));
    }

    [Fact]
    public void MalformedOverridesAreErrors()
    {
        AssertLines(
        [
            "--set optimizer.lr: expected key=value",
            "--set optimizer..lr=1: optimizer..lr: expected a dotted key such as optimizer.lr before '='",
            "--set seed=[1: seed: cannot read the value: YAML syntax error: While parsing a flow sequence, did not find expected ',' or ']'.",
        ], Errors("optimizer.lr", "optimizer..lr=1", "seed=[1"));
    }

    [Fact]
    public void OverrideValuesAreTypeCheckedLikeFileValues()
    {
        AssertLines(
        [
            "--set optimizer.lr=-1: optimizer.lr: -1 is out of range: must be > 0",
            "--set train.max_epochs=ten: train.max_epochs: expected an integer, got 'ten'",
        ], Errors("train.max_epochs=ten", "optimizer.lr=-1"));
    }

    [Fact]
    public void GenericLoadAppliesOverridesWithoutASchema()
    {
        var tree = ConfigLoader.Load(_path, ["anything.new=[1, 2]", "teachers.1.checkpoint=other.pth"]);

        Assert.Equal(["1", "2"], Values(tree, "anything.new"));
        Assert.Equal("other.pth", Scalar(tree, "teachers.1.checkpoint").Value);
        Assert.Equal("--set teachers.1.checkpoint=other.pth", Scalar(tree, "teachers.1.checkpoint").Location.ToString());
        // The untouched sibling keeps its file location.
        Assert.Equal($"{_path}:15:11", Scalar(tree, "teachers.1.name").Location.ToString());
    }
}
