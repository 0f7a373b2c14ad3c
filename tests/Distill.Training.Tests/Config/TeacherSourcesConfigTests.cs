using Distill.Config;
using Distill.Training.Config;
using static Distill.Training.Tests.Config.ConfigTree;

namespace Distill.Training.Tests.Config;

/// <summary>teachers[].sources: names of data sources, checked against data.sources and reported at the item's place.</summary>
public sealed class TeacherSourcesConfigTests : IDisposable
{
    private const string TwoSources = """
        data:
          sources:
            - {name: coco, format: coco, ann_file: coco/train.json, img_dir: coco/images}
            - {name: mpii, format: mpii, ann_file: mpii/train.json, img_dir: mpii/images}
        """;

    private readonly ConfigFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void SourcesBindAndDefaultToEverySource()
    {
        var path = _files.Write("ok.yaml", """
            model: {}
            teachers:
              - {name: a, sources: [mpii, coco]}
              - {name: b}
            """ + "\n" + TwoSources);
        var o = ExperimentConfig.Load(path);
        Assert.Equal(["mpii", "coco"], o.Teachers[0].Sources!);
        Assert.Null(o.Teachers[1].Sources);
        // A copy for running the same teacher another way keeps the selection but not the list object.
        var copy = o.Teachers[0].Clone();
        Assert.Equal(o.Teachers[0].Sources, copy.Sources);
        Assert.NotSame(o.Teachers[0].Sources, copy.Sources);
    }

    [Fact]
    public void AnUnknownSourceIsNamedAtItsItemWithTheSourcesThereAre()
    {
        var path = _files.Write("bad.yaml", """
            model: {}
            teachers:
              - {name: a, sources: [coco, cocoo]}
              - {name: b, sources: [mpii, mpii]}
              - {name: c, sources: []}
            """ + "\n" + TwoSources);
        var ex = Assert.Throws<ConfigException>(() => ExperimentConfig.Load(path));
        var messages = Messages(ex);
        Assert.Contains($"{path}:3:31: teachers.0.sources.1: teacher 'a' names source 'cocoo', but no data source has that name (sources: coco, mpii)",
            messages);
        Assert.Contains($"{path}:4:31: teachers.1.sources.1: source 'mpii' is listed twice", messages);
        Assert.Contains(messages, m => m.StartsWith($"{path}:5:") && m.Contains("teachers.2.sources: an empty list selects no image"));
        Assert.Equal(3, messages.Length);
    }
}
