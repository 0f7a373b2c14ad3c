using Distill.Training.Config;
using static Distill.Training.Tests.Config.ConfigTree;
using Distill.Config;

namespace Distill.Training.Tests.Config;

public sealed class ConfigBinderTests : IDisposable
{
    private readonly ConfigFiles _files = new();

    public void Dispose() => _files.Dispose();

    private SampleOptions Bind(string yaml, params string[] overrides) =>
        ConfigBinder.Bind<SampleOptions>(ConfigLoader.Load(_files.Write("sample.yaml", yaml), overrides));

    private string[] Errors(string yaml, params string[] overrides) =>
        Messages(Assert.Throws<ConfigException>(() => Bind(yaml, overrides)));

    private string F => _files.PathOf("sample.yaml");

    [Fact]
    public void EveryKindOfPropertyBindsFromSnakeCaseKeys()
    {
        var options = Bind("""
            name: run-1
            comment: null
            flag: true
            count: 0xA
            big: 9000000000
            small: 1.5e-3
            ratio: .25
            positive: .inf
            maybe_count: ~
            mode: fast
            maybe_mode: very_slow
            size: [256, 256]
            tags: [a, 'b c']
            weights: [1, 2.5]
            scores: {ap: 0.7, ar: 0.75}
            child: {depth: 3}
            optional_child:
              label: x
            children:
              - width: 10
              - label: second
            """);

        Assert.Equal("run-1", options.Name);
        Assert.Null(options.Comment);
        Assert.True(options.Flag);
        Assert.Equal(10, options.Count);
        Assert.Equal(9_000_000_000L, options.Big);
        Assert.Equal(1.5e-3f, options.Small);
        Assert.Equal(0.25, options.Ratio);
        Assert.Equal(double.PositiveInfinity, options.Positive);
        Assert.Null(options.MaybeCount);
        Assert.Equal(SampleMode.Fast, options.Mode);
        Assert.Equal(SampleMode.VerySlow, options.MaybeMode);
        Assert.Equal([256, 256], options.Size);
        Assert.Equal(["a", "b c"], options.Tags);
        Assert.Equal([1.0, 2.5], options.Weights);
        Assert.Equal(new Dictionary<string, double> { ["ap"] = 0.7, ["ar"] = 0.75 }, options.Scores);
        // A section given partially keeps the defaults of its other keys, including the parent's (width 5).
        Assert.Equal(5, options.Child.Width);
        Assert.Equal(3, options.Child.Depth);
        Assert.Equal("x", options.OptionalChild!.Label);
        Assert.Equal(10, options.Children[0].Width);
        Assert.Equal("second", options.Children[1].Label);
        Assert.Equal(4, options.Children[1].Width);
    }

    [Fact]
    public void AbsentKeysKeepTheirDefaults()
    {
        var options = Bind("name: n\n");
        Assert.Equal("default", options.Comment);
        Assert.Equal(1, options.Count);
        Assert.Equal(7, options.MaybeCount);
        Assert.Equal([192, 256], options.Size);
        Assert.Null(options.OptionalChild);
    }

    [Fact]
    public void EnumsAcceptTheExactMemberNameTooAndSuggestOnTypos()
    {
        Assert.Equal(SampleMode.Fast, Bind("name: n\nmode: Fast\n").Mode);
        Assert.Equal(SampleMode.VerySlow, Bind("name: n\nmode: VerySlow\n").Mode);

        AssertLines([$"{F}:2:7: mode: expected one of fast, VerySlow; got 'very-slow' (did you mean 'VerySlow'?)"],
            Errors("name: n\nmode: very-slow\n"));
    }

    [Fact]
    public void UnknownKeyIsReportedAtTheKeyWithTheClosestAllowedKey()
    {
        var errors = Errors("""
            name: n
            child:
              depth: 1
              widht: 4
            """);

        AssertLines([$"{F}:4:3: child.widht: unknown key (did you mean 'width'?)"], errors);
    }

    [Fact]
    public void UnknownKeyWithNothingCloseListsTheAllowedKeys()
    {
        AssertLines([$"{F}:2:9: child.colour: unknown key (expected one of: width, depth, label)"],
            Errors("name: n\nchild: {colour: red}\n"));
    }

    [Fact]
    public void WrongTypesNameTheExpectedKindAndTheValueFound()
    {
        var errors = Errors("""
            name: [a]
            flag: yes
            count: 2.5
            ratio: '0.5'
            size: 3
            child: [1]
            tags: {a: 1}
            maybe_count: abc
            """);

        AssertLines([
            $"{F}:1:7: name: expected a string, got a list",
            $"{F}:2:7: flag: expected true or false, got 'yes'",
            $"{F}:3:8: count: expected an integer, got '2.5'",
            $"{F}:4:8: ratio: expected a number, got the quoted string '0.5'",
            $"{F}:5:7: size: expected a list, got '3'",
            $"{F}:6:8: child: expected a mapping, got a list",
            $"{F}:7:7: tags: expected a list, got a mapping",
            $"{F}:8:14: maybe_count: expected an integer, got 'abc'",
        ], errors);
    }

    [Fact]
    public void NullIsOnlyAcceptedWhereTheTypeIsNullable()
    {
        AssertLines([
            $"{F}:1:6: name: expected a string, got null",
            $"{F}:2:8: count: expected an integer, got null",
            $"{F}:3:8: child: expected a mapping, got null",
            $"{F}:4:11: tags.1: expected a string, got null",
        ], Errors("name:\ncount: null\nchild: ~\ntags: [a, null]\n"));
    }

    [Fact]
    public void IntegersThatDoNotFitAreRejected()
    {
        AssertLines([$"{F}:2:8: count: 3000000000 does not fit in a 32-bit integer"], Errors("name: n\ncount: 3000000000\n"));
        AssertLines([$"{F}:2:6: big: 99999999999999999999 does not fit in a 64-bit integer"], Errors("name: n\nbig: 99999999999999999999\n"));
    }

    [Fact]
    public void RangeViolationsQuoteTheValueAndTheBounds()
    {
        AssertLines([
            $"{F}:2:8: count: 0 is out of range: must be in [1, 100]",
            $"{F}:3:8: ratio: 1.5 is out of range: must be in [0, 1]",
            $"{F}:4:11: positive: 0 is out of range: must be > 0",
            // [Range] on an array applies to each item, located at the item.
            $"{F}:5:13: size.1: -4 is out of range: must be in [1, 8192]",
        ], Errors("name: n\ncount: 0\nratio: 1.5\npositive: 0\nsize: [192, -4]\n"));
    }

    [Fact]
    public void LengthAttributesCountListItems()
    {
        AssertLines([$"{F}:2:7: size: expected exactly 2 items, got 3"], Errors("name: n\nsize: [1, 2, 3]\n"));
    }

    [Fact]
    public void RequiredKeysMustBeWrittenAndAreReportedAtTheirMapping()
    {
        AssertLines([$"{F}:1:1: name: missing required key"], Errors("count: 2\n"));
    }

    [Fact]
    public void ValidationHooksReportAtTheKeyTheyNameOrAtTheObject()
    {
        AssertLines([
            $"{F}:4:12: children.0.depth: depth 5 exceeds width 4",
            $"{F}:1:7: name: this name is reserved",
            $"{F}:1:1: flag allows at most 10 items",
        ], Errors("""
            name: forbidden
            flag: true
            children:
              - depth: 5
            count: 11
            """));
    }

    [Fact]
    public void ValidationHooksDoNotRepeatAKeyThatAlreadyFailedToBind()
    {
        // depth "x" fails to bind; the hook would otherwise compare the default depth, or complain twice.
        AssertLines([$"{F}:2:26: child.depth: expected an integer, got 'x'"],
            Errors("name: n\nchild: {width: 0, depth: x}\n"));
    }

    [Fact]
    public void AllErrorsOfADocumentAreReportedTogetherInDocumentOrder()
    {
        var ex = Assert.Throws<ConfigException>(() => Bind("""
            nmae: n
            count: 200
            child:
              width: wide
            children:
              - {labl: a}
              - {width: 2, depth: 9}
            """));

        AssertLines([
            $"{F}:1:1: nmae: unknown key (did you mean 'name'?)",
            $"{F}:2:8: count: 200 is out of range: must be in [1, 100]",
            $"{F}:4:10: child.width: expected an integer, got 'wide'",
            $"{F}:6:6: children.0.labl: unknown key (did you mean 'label'?)",
            $"{F}:7:23: children.1.depth: depth 9 exceeds width 2",
            $"{F}:1:1: name: missing required key",
        ], Messages(ex));
        Assert.StartsWith("6 configuration errors:", ex.Message);
        Assert.Equal("count", ex.Errors[1].Path);
        Assert.Equal(2, ex.Errors[1].Location.Line);
        Assert.Equal(8, ex.Errors[1].Location.Column);
    }

    [Fact]
    public void ErrorsInOverriddenValuesAreLocatedAtTheOverride()
    {
        AssertLines([
            "--set child.widht=3: child.widht: unknown key (did you mean 'width'?)",
            "--set count=abc: count: expected an integer, got 'abc'",
            "--set ratio=2: ratio: 2 is out of range: must be in [0, 1]",
        ], Errors("name: n\n", "child.widht=3", "count=abc", "ratio=2"));
    }
}
