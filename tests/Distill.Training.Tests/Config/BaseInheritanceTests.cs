using Distill.Training.Config;
using static Distill.Training.Tests.Config.ConfigTree;
using Distill.Config;

namespace Distill.Training.Tests.Config;

public sealed class BaseInheritanceTests : IDisposable
{
    private readonly ConfigFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void ThreeLevelChainMergesMappingsDeeplyAndKeepsEachValuesOwnLocation()
    {
        var runtime = _files.Write("configs/_base_/runtime.yaml", """
            seed: 1
            optimizer:
              type: AdamW
              lr: 0.004
              betas: [0.9, 0.999]
            data:
              batch_size: 64
            """);
        var model = _files.Write("configs/models/rtmpose_t.yaml", """
            _base_: ../_base_/runtime.yaml
            model:
              backbone:
                deepen_factor: 0.167
                widen_factor: 0.375
            optimizer:
              weight_decay: 0.0
            """);
        var leaf = _files.Write("configs/distill/t_kd.yaml", """
            _base_: ../models/rtmpose_t.yaml
            optimizer:
              lr: 0.002
            model:
              backbone:
                widen_factor: 0.5
            """);

        var tree = ConfigLoader.Load(leaf);

        // Key order: base keys in base order, then keys new in derived files; _base_ itself is gone.
        Assert.Equal(["seed", "optimizer", "data", "model"], tree.Keys);
        Assert.Equal(["type", "lr", "betas", "weight_decay"], Assert.IsType<ConfigMapping>(Node(tree, "optimizer")).Keys);
        Assert.Equal("1", Scalar(tree, "seed").Value);
        Assert.Equal($"{runtime}:1:7", Scalar(tree, "seed").Location.ToString());
        Assert.Equal("0.002", Scalar(tree, "optimizer.lr").Value);
        Assert.Equal($"{leaf}:3:7", Scalar(tree, "optimizer.lr").Location.ToString());
        Assert.Equal($"{model}:7:17", Scalar(tree, "optimizer.weight_decay").Location.ToString());
        Assert.Equal("0.167", Scalar(tree, "model.backbone.deepen_factor").Value);
        Assert.Equal("0.5", Scalar(tree, "model.backbone.widen_factor").Value);
        Assert.Equal(["0.9", "0.999"], Values(tree, "optimizer.betas"));
    }

    [Fact]
    public void ListsInADerivedFileReplaceTheBaseListInsteadOfExtendingIt()
    {
        _files.Write("base.yaml", """
            evaluation:
              metrics: [coco, pckh, extra]
            model:
              mean: [1, 2, 3]
            """);
        var leaf = _files.Write("leaf.yaml", """
            _base_: base.yaml
            evaluation:
              metrics:
                - coco
            """);

        var tree = ConfigLoader.Load(leaf);

        Assert.Equal(["coco"], Values(tree, "evaluation.metrics"));
        Assert.Equal(["1", "2", "3"], Values(tree, "model.mean"));
    }

    [Fact]
    public void SeveralBasesMergeInListedOrderWithTheFileOnTop()
    {
        _files.Write("parts/a.yaml", """
            x: from_a
            y: from_a
            z: from_a
            only_a: 1
            """);
        _files.Write("parts/b.yaml", """
            y: from_b
            z: from_b
            only_b: 2
            """);
        var leaf = _files.Write("leaf.yaml", """
            _base_: [parts/a.yaml, parts/b.yaml]
            z: from_leaf
            """);

        var tree = ConfigLoader.Load(leaf);

        Assert.Equal(["x", "y", "z", "only_a", "only_b"], tree.Keys);
        Assert.Equal("from_a", Scalar(tree, "x").Value);
        Assert.Equal("from_b", Scalar(tree, "y").Value);
        Assert.Equal("from_leaf", Scalar(tree, "z").Value);
    }

    [Fact]
    public void BasePathsAreRelativeToTheFileThatNamesThem()
    {
        // leaf -> sub/mid.yaml; mid names "common.yaml", which must be sub/common.yaml, not the root one.
        _files.Write("common.yaml", "where: root\n");
        _files.Write("sub/common.yaml", "where: sub\n");
        _files.Write("sub/mid.yaml", "_base_: common.yaml\nmid: true\n");
        var leaf = _files.Write("leaf.yaml", "_base_: sub/mid.yaml\n");

        var tree = ConfigLoader.Load(leaf);

        Assert.Equal("sub", Scalar(tree, "where").Value);
        Assert.Equal("true", Scalar(tree, "mid").Value);
    }

    [Fact]
    public void AFileReachedTwiceThroughDifferentBasesIsNotACycle()
    {
        _files.Write("common.yaml", "a: 1\nb: 1\n");
        _files.Write("left.yaml", "_base_: common.yaml\nb: left\n");
        _files.Write("right.yaml", "_base_: common.yaml\nc: right\n");
        var leaf = _files.Write("leaf.yaml", "_base_: [left.yaml, right.yaml]\n");

        var tree = ConfigLoader.Load(leaf);

        // right re-applies common's b: 1 on top of left's b, since right is merged after left.
        Assert.Equal(["a", "b", "c"], tree.Keys);
        Assert.Equal("1", Scalar(tree, "b").Value);
        Assert.Equal("right", Scalar(tree, "c").Value);
    }

    [Fact]
    public void CyclicBasesAreReportedWithTheWholeChainAtTheEntryThatClosesIt()
    {
        var a = _files.Write("a.yaml", "_base_: b.yaml\nx: 1\n");
        var b = _files.Write("b.yaml", "y: 2\n_base_: [c.yaml]\n");
        var c = _files.Write("c.yaml", "_base_: a.yaml\n");

        var ex = Assert.Throws<ConfigException>(() => ConfigLoader.Load(a));

        // "_base_: a.yaml": the file name starts in column 9 of line 1 of c.yaml.
        Assert.Equal([$"{c}:1:9: _base_: cyclic _base_ inheritance: {a} -> {b} -> {c} -> {a}"], Messages(ex));
    }

    [Fact]
    public void AFileThatNamesItselfAsBaseIsACycle()
    {
        var a = _files.Write("self.yaml", "x: 1\n_base_: ./self.yaml\n");

        var ex = Assert.Throws<ConfigException>(() => ConfigLoader.Load(a));

        Assert.Equal([$"{a}:2:9: _base_: cyclic _base_ inheritance: {a} -> {a}"], Messages(ex));
    }

    [Fact]
    public void AMissingBaseFileIsReportedAtItsReference()
    {
        var leaf = _files.Write("leaf.yaml", "_base_:\n  - there.yaml\n  - missing.yaml\n");
        _files.Write("there.yaml", "a: 1\n");

        var ex = Assert.Throws<ConfigException>(() => ConfigLoader.Load(leaf));

        Assert.Equal([$"{leaf}:3:5: _base_: base file not found: {_files.PathOf("missing.yaml")}"], Messages(ex));
    }

    [Fact]
    public void DeleteFlagReplacesTheBaseMappingInsteadOfMergingIntoIt()
    {
        _files.Write("base.yaml", """
            backbone:
              type: CSPNeXt
              deepen_factor: 0.33
              widen_factor: 0.5
            """);
        var leaf = _files.Write("leaf.yaml", """
            _base_: base.yaml
            backbone:
              _delete_: true
              type: VisionTransformer
              patch_size: 16
            """);

        var tree = ConfigLoader.Load(leaf);

        Assert.Equal(["type", "patch_size"], Assert.IsType<ConfigMapping>(Node(tree, "backbone")).Keys);
        Assert.Equal("VisionTransformer", Scalar(tree, "backbone.type").Value);
    }

    [Fact]
    public void ErrorLocationsUseTheRelativePathTheFileWasOpenedWith()
    {
        var full = _files.Write("cfg/run.yaml", "a: 1\na: 2\n");
        var relative = Path.GetRelativePath(Environment.CurrentDirectory, full);

        var ex = Assert.Throws<ConfigException>(() => ConfigLoader.Load(relative));

        Assert.Equal([$"{relative}:2:1: a: duplicate key (first defined at line 1, column 1)"], Messages(ex));
    }

    [Fact]
    public void AMissingTopLevelFileIsAFileNotFoundError()
    {
        var ex = Assert.Throws<FileNotFoundException>(() => ConfigLoader.Load(_files.PathOf("nope.yaml")));
        Assert.Equal($"configuration file not found: {_files.PathOf("nope.yaml")}", ex.Message);
    }
}
