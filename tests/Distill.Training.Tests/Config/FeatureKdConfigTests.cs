using Distill.Config;
using Distill.Training.Config;
using static Distill.Training.Tests.Config.ConfigTree;

namespace Distill.Training.Tests.Config;

/// <summary>losses.feature_kd.weight only works through teachers with a feature_weight; a weight no teacher takes up is an error.</summary>
public sealed class FeatureKdConfigTests : IDisposable
{
    private const string Data = """
        data:
          sources:
            - {name: coco, format: coco, ann_file: coco/train.json, img_dir: coco/images}
        """;

    private readonly ConfigFiles _files = new();

    public void Dispose() => _files.Dispose();

    /// <summary>A feature KD weight of 7e-5 over teacher a (no feature_weight) and teacher b as given.</summary>
    private string WithFeatureKd(string file, string teacherB) => _files.Write(file, $$"""
        model: {}
        losses:
          feature_kd: {weight: 7.0e-5}
        teachers:
          - {name: a}
          - {{teacherB}}
        """ + "\n" + Data);

    [Fact]
    public void AFeatureWeightNoTeacherTakesUpIsNamedAtItsKey()
    {
        var path = WithFeatureKd("bad.yaml", "{name: b, feature_weight: 0}");
        var ex = Assert.Throws<ConfigException>(() => ExperimentConfig.Load(path));
        var message = Assert.Single(Messages(ex));
        Assert.StartsWith($"{path}:3:", message);
        Assert.Contains("losses.feature_kd.weight: is 7E-05 but every teacher has feature_weight 0", message);
    }

    [Fact]
    public void OneTeacherWithAFeatureWeightOrNoFeatureWeightAtAllIsFine()
    {
        var one = WithFeatureKd("one.yaml", "{name: b, feature_weight: 1}");
        Assert.Equal(1.0, ExperimentConfig.Load(one).Teachers[1].FeatureWeight);

        var none = _files.Write("none.yaml", """
            model: {}
            teachers:
              - {name: a}
            """ + "\n" + Data);
        Assert.Equal(0, ExperimentConfig.Load(none).Losses.FeatureKd.Weight);
    }
}
