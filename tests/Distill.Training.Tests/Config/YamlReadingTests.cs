using Distill.Training.Config;
using static Distill.Training.Tests.Config.ConfigTree;
using Distill.Config;

namespace Distill.Training.Tests.Config;

public sealed class YamlReadingTests : IDisposable
{
    private readonly ConfigFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void DuplicateKeysInOneMappingAreAllReportedWithBothPositions()
    {
        var path = _files.Write("dup.yaml", """
            optimizer:
              lr: 0.1
              weight_decay: 0.0
              lr: 0.2
            teachers:
              - name: a
                weight: 1
                weight: 2
            optimizer: {}
            """);

        var ex = Assert.Throws<ConfigException>(() => ConfigLoader.Load(path));

        Assert.Equal(
        [
            $"{path}:4:3: optimizer.lr: duplicate key (first defined at line 2, column 3)",
            $"{path}:8:5: teachers.0.weight: duplicate key (first defined at line 7, column 5)",
            $"{path}:9:1: optimizer: duplicate key (first defined at line 1, column 1)",
        ], Messages(ex));
    }

    [Fact]
    public void SameKeyInDifferentMappingsIsNotADuplicate()
    {
        var path = _files.Write("ok.yaml", "a:\n  lr: 1\nb:\n  lr: 2\n");
        var tree = ConfigLoader.Load(path);
        Assert.Equal("2", Scalar(tree, "b.lr").Value);
    }

    [Fact]
    public void SyntaxErrorsNameFileLineAndColumn()
    {
        var path = _files.Write("bad.yaml", "model:\n  type: a: b\n");

        var ex = Assert.Throws<ConfigException>(() => ConfigLoader.Load(path));

        // "  type: a: b": the parser stops at the second ':' (column 10), which cannot follow a plain value.
        Assert.Equal([$"{path}:2:10: YAML syntax error: While scanning a plain scalar value, found invalid mapping."], Messages(ex));
    }

    [Fact]
    public void AnUnclosedFlowListIsASyntaxErrorNotACrash()
    {
        var path = _files.Write("open.yaml", "a: [1, 2\nb: 3\n");

        var ex = Assert.Throws<ConfigException>(() => ConfigLoader.Load(path));

        var error = Assert.Single(ex.Errors);
        Assert.Equal(path, error.Location.File);
        Assert.StartsWith("YAML syntax error:", error.Message);
    }

    [Fact]
    public void AnchorsAndAliasesExpandToTheAnchoredValue()
    {
        var path = _files.Write("alias.yaml", """
            size: &size [192, 256]
            model:
              input_size: *size
            """);

        var tree = ConfigLoader.Load(path);

        Assert.Equal(["192", "256"], Values(tree, "model.input_size"));
        Assert.Equal($"{path}:1:7", Node(tree, "model.input_size").Location.ToString());
    }

    [Fact]
    public void MergeKeysAreRejectedWithAPointerToBase()
    {
        var path = _files.Write("merge.yaml", "a: &a {x: 1}\nb:\n  <<: *a\n  y: 2\n");

        var ex = Assert.Throws<ConfigException>(() => ConfigLoader.Load(path));

        Assert.Equal([$"{path}:3:3: b.<<: YAML merge keys (<<) are not supported; use _base_ to inherit from another file"], Messages(ex));
    }

    [Fact]
    public void TopLevelMustBeAMappingAndOnlyOneDocumentIsAllowed()
    {
        var list = _files.Write("list.yaml", "- a\n- b\n");
        var two = _files.Write("two.yaml", "a: 1\n---\nb: 2\n");

        Assert.Equal([$"{list}:1:1: the top level must be a mapping of keys, not a list"],
            Messages(Assert.Throws<ConfigException>(() => ConfigLoader.Load(list))));
        Assert.Equal([$"{two}:2:1: a configuration file holds one YAML document; found a second one"],
            Messages(Assert.Throws<ConfigException>(() => ConfigLoader.Load(two))));
    }

    [Fact]
    public void AnEmptyFileIsAnEmptyMapping()
    {
        var path = _files.Write("empty.yaml", "# nothing here\n");
        Assert.Equal(0, ConfigLoader.Load(path).Count);
    }
}
