using System.Text.Json;
using Distill.Training.Config;
using static Distill.Training.Tests.Config.ConfigTree;
using Distill.Config;

namespace Distill.Training.Tests.Config;

public sealed class ToYamlTests : IDisposable
{
    private readonly ConfigFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void ResolvedTreeIsWrittenInTreeOrderWithQuotingAndTagsKept()
    {
        _files.Write("base.yaml", """
            name: base
            model:
              input_size: [192, 256]
              keypoint_set: 'coco17'
              backbone:
                type: CSPNeXt
                out_indices:
                  - 4
            teachers:
              - name: a
                checkpoint: "a b.pth"
            optimizer:
              clip_grad: null
              lr: 4.0e-3
            """);
        var leaf = _files.Write("leaf.yaml", """
            _base_: base.yaml
            note: !!str 123
            model:
              mean: [1, 2, 3]
            teachers:
              - name: b
                checkpoint: ~
            multi: |
              line one
              line two
            """);

        var tree = ConfigLoader.Load(leaf, ["optimizer.lr=0.001", "evaluation.metrics=[coco, pckh]"]);
        var yaml = ConfigLoader.ToYaml(tree);

        Assert.Equal("""
            name: base
            model:
              input_size: [192, 256]
              keypoint_set: 'coco17'
              backbone:
                type: CSPNeXt
                out_indices:
                - 4
              mean: [1, 2, 3]
            teachers:
            - name: b
              checkpoint: null
            optimizer:
              clip_grad: null
              lr: 0.001
            note: !!str 123
            multi: |
              line one
              line two
            evaluation:
              metrics: [coco, pckh]

            """.Replace("\r\n", "\n"), yaml);
    }

    [Fact]
    public void WrittenYamlReadsBackToTheSameTreeAndIsStable()
    {
        var path = _files.Write("tricky.yaml", """
            plain_number: 1.50
            quoted_number: "1.50"
            quoted_bool: 'true'
            empty_string: ''
            needs_quotes: 'a: b # c'
            leading_space: ' x'
            nested:
              - [1, [2, 3]]
              - {k: v}
              - []
              - {}
            tagged: !!str true
            unicode: "héllo\tworld"
            """);

        var first = ConfigLoader.Load(path);
        var written = _files.Write("written.yaml", ConfigLoader.ToYaml(first));
        var second = ConfigLoader.Load(written);

        AssertSameTree(first, second);
        Assert.Equal(ConfigLoader.ToYaml(first), ConfigLoader.ToYaml(second));
        Assert.Equal("1.50", Scalar(second, "quoted_number").Value);
        Assert.False(Scalar(second, "quoted_number").IsPlain);
        Assert.True(Scalar(second, "plain_number").IsPlain);
        Assert.Equal("héllo\tworld", Scalar(second, "unicode").Value);
        Assert.Equal("tag:yaml.org,2002:str", Scalar(second, "tagged").Tag);
    }

    [Fact]
    public void AnExperimentWrittenToTheRunDirectoryLoadsToTheSameOptions()
    {
        _files.Write("configs/base.yaml", """
            model:
              keypoint_set: coco17
              backbone: {deepen_factor: 0.33, widen_factor: 0.5}
            data:
              sources:
                - {name: coco, format: coco, ann_file: train.json, img_dir: train2017}
            """);
        var path = _files.Write("configs/exp.yaml", """
            _base_: base.yaml
            codec: {type: SimCCLabel, sigma: [4.9, 5.66]}
            teachers:
              - {name: m, checkpoint: m.pth}
            """);

        var original = ExperimentConfig.Load(path, ["teachers.0.weight=0.25", "optimizer.lr=1e-3"], out var resolved);
        var runCopy = _files.Write("runs/run/config.yaml", ConfigLoader.ToYaml(resolved));
        var reloaded = ExperimentConfig.Load(runCopy);

        Assert.Equal(JsonSerializer.Serialize(original), JsonSerializer.Serialize(reloaded));
        // The run copy is named config.yaml, yet keeps the name taken from exp.yaml.
        Assert.Equal(("exp", "experiments/exp"), (reloaded.Name, reloaded.WorkDir));
        Assert.Equal(0.25, reloaded.Teachers[0].Weight);
        Assert.Equal(1e-3, reloaded.Optimizer.Lr);
        Assert.Equal([4.9, 5.66], reloaded.Model.Codec.Sigma!);
    }

    private static void AssertSameTree(ConfigNode expected, ConfigNode actual)
    {
        switch (expected)
        {
            case ConfigScalar s:
                var a = Assert.IsType<ConfigScalar>(actual);
                Assert.Equal((s.Value, s.IsPlain, s.IsNull, s.Tag), (a.Value, a.IsPlain, a.IsNull, a.Tag));
                break;
            case ConfigSequence s:
                var seq = Assert.IsType<ConfigSequence>(actual);
                Assert.Equal(s.Count, seq.Count);
                for (var i = 0; i < s.Count; i++)
                    AssertSameTree(s[i], seq[i]);
                break;
            case ConfigMapping m:
                var map = Assert.IsType<ConfigMapping>(actual);
                Assert.Equal(m.Keys, map.Keys);
                foreach (var entry in m.Entries)
                    AssertSameTree(entry.Value, map[entry.Key]!);
                break;
        }
    }
}
