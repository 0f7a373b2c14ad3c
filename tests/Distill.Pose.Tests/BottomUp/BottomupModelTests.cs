using Distill.Config;
using Distill.Pose.BottomUp;
using Distill.Pose.BottomUp.Heads;
using Distill.Pose.Models;
using Distill.Pose.Models.Backbones;
using Distill.Pose.Tests.Synthetic;
using Distill.TestSupport;
using Distill.Torch;

namespace Distill.Pose.Tests.BottomUp;

/// <summary>Bottom-up models built by <see cref="ModelFactory.BuildBottomup"/> from the shipped configs and from
/// config text: field shapes and strides, head input selection, and config errors that name their keys.</summary>
public sealed class BottomupModelTests
{
    private static string Config(string name) => Path.Combine(SharedData.RepoRoot, "configs", "bottomup", name);

    private static Distill.Pose.Models.Options.ModelOptions FromText(string yaml)
    {
        using var dir = new TempDir();
        var path = System.IO.Path.Combine(dir.Path, "model.yaml");
        File.WriteAllText(path, yaml);
        return ModelConfig.Load(path);
    }

    private const string TinyCsp = """
        model:
          type: BottomupPoseEstimator
          backbone: {type: CSPNeXt, deepen_factor: 0.167, widen_factor: 0.125, out_indices: [2, 3]}
          head: {type: CifCafHead, upsample: 2}
        """;

    [Fact]
    public void HRFormerSmallConfigGivesStride4FieldsOnBranch0()
    {
        var (model, set) = ModelFactory.BuildBottomup(ModelConfig.Load(Config("hrformer-s_cifcaf_coco.yaml")));
        using var _ = model;
        Assert.Equal("coco17", set.Name);
        Assert.IsType<HRFormer>(model.Backbone);
        Assert.Equal(4, model.Stride);
        Assert.Equal((385, 385), model.InputSize);
        // Branch 0 of HRFormer-S has 32 channels: 17 x 5 and 19 x 8 output channels of 1x1 convs.
        Assert.Equal([85, 32, 1, 1], model.Head.Cif.Conv.Weight.Shape);
        Assert.Equal([152, 32, 1, 1], model.Head.Caf.Conv.Weight.Shape);
        var names = model.StateDict().Select(kv => kv.Key).ToList();
        Assert.Contains("head.cif.conv.weight", names);
        Assert.Contains("head.caf.conv.bias", names);

        using var scope = torch.NewDisposeScope();
        model.Train();
        // 65 = 4 x 16 + 1 pixels: (65 - 1) / 4 + 1 = 17 cells, as the encoders size their targets.
        var outs = model.Forward(torch.Randn([1, 3, 65, 65]));
        Assert.Equal([1, 17, 5, 17, 17], outs["cif"].Shape);
        Assert.Equal([1, 19, 8, 17, 17], outs["caf"].Shape);
    }

    [Fact]
    public void CspNextMediumConfigGivesStride8FieldsThroughPixelShuffle()
    {
        var (model, _) = ModelFactory.BuildBottomup(ModelConfig.Load(Config("cspnext-m_cifcaf_coco.yaml")));
        using var _ = model;
        Assert.IsType<CSPNeXt>(model.Backbone);
        Assert.Equal(8, model.Stride);
        using var scope = torch.NewDisposeScope();
        model.Train();
        // 129 px: stride-16 map of 9 cells, shuffled to 18 and cropped to 2 x 9 - 1 = 17 = (129 - 1) / 8 + 1.
        var outs = model.Forward(torch.Randn([1, 3, 129, 129]));
        Assert.Equal([1, 17, 5, 17, 17], outs["cif"].Shape);
        Assert.Equal([1, 19, 8, 17, 17], outs["caf"].Shape);
    }

    [Fact]
    public void InIndexAndResizeConcatPickTheFeatures()
    {
        // Tiny CSPNeXt: stage 2 (stride 8) has 256 x 0.125 = 32 channels, stage 3 (stride 16) 512 x 0.125 = 64.
        var (last, _) = ModelFactory.BuildBottomup(FromText(TinyCsp));
        var (first, _) = ModelFactory.BuildBottomup(FromText(TinyCsp.Replace("upsample: 2}", "upsample: 2, in_index: 0}")));
        var (both, _) = ModelFactory.BuildBottomup(FromText(TinyCsp.Replace("upsample: 2}", "upsample: 2, input_transform: resize_concat}")));
        using (last) using (first) using (both)
        {
            Assert.Equal((8, 64L), (last.Stride, last.Head.Cif.Conv.Weight.Shape[1]));
            Assert.Equal((4, 32L), (first.Stride, first.Head.Cif.Conv.Weight.Shape[1]));
            Assert.Equal((4, 96L), (both.Stride, both.Head.Cif.Conv.Weight.Shape[1]));
            using var scope = torch.NewDisposeScope();
            var x = torch.Randn([2, 3, 65, 65]);
            Assert.Equal([2, 17, 5, 9, 9], last.Forward(x)["cif"].Shape);
            Assert.Equal([2, 19, 8, 17, 17], first.Forward(x)["caf"].Shape);
            Assert.Equal([2, 19, 8, 17, 17], both.Forward(x)["caf"].Shape);
        }
    }

    [Fact]
    public void EvalOutputsAreActivatedAndLossHasSixNamedTerms()
    {
        var (model, _) = ModelFactory.BuildBottomup(FromText(TinyCsp));
        using var _ = model;
        using var scope = torch.NewDisposeScope();
        var x = torch.Randn([1, 3, 65, 65]);
        // The backbone in eval mode both times (BatchNorm with running statistics), the heads raw and then activated.
        model.Eval();
        model.Head.Train();
        var raw = model.Forward(x);
        model.Head.Eval();
        var act = model.Forward(x);
        // Confidence is the raw value's sigmoid, the vector the raw offset plus the cell column.
        Assert.Equal(1 / (1 + Math.Exp(-At(raw["cif"], 3, 1, 2, 4))), At(act["cif"], 3, 1, 2, 4), 5);
        Assert.Equal(At(raw["caf"], 5, 2, 6, 7) + 7, At(act["caf"], 5, 2, 6, 7), 4);

        model.Train();
        var targets = new Dictionary<string, Tensor>
        {
            ["cif"] = torch.Zeros([1, 17, 5, 9, 9]),
            ["caf"] = torch.Zeros([1, 19, 9, 9, 9]),
        };
        var terms = model.Loss(raw, targets);
        Assert.Equal(["cif.c", "cif.vec", "cif.scales", "caf.c", "caf.vec", "caf.scales"], terms.Keys);
        Assert.Equal(model.Head.LossNames, terms.Keys);
        Assert.True(terms["cif.c"].ItemDouble() > 0);
    }

    /// <summary>Element (0, f, c, y, x) of a field output.</summary>
    private static double At(Tensor t, int f, int c, int y, int x) => FieldTensor.FromTensor(t.Select(0, 0))[f, c, y, x];

    [Theory]
    [InlineData("model:\n  type: BottomupPoseEstimator\n  head: {type: RTMCCHead}\n", "model.head.type")]
    [InlineData("model:\n  head: {type: CifCafHead}\n", "model.type")]
    [InlineData("model:\n  type: BottomupPoseEstimator\n  backbone: {type: HRFormer}\n  head: {type: CifCafHead, in_index: 2}\n", "model.head.in_index")]
    [InlineData("model:\n  type: BottomupPoseEstimator\n  head: {type: CifCafHead, upsample: 0}\n", "model.head.upsample")]
    [InlineData("model:\n  type: BottomupPoseEstimator\n  head: {type: CifCafHead, b_scale: -1}\n", "model.head.b_scale")]
    [InlineData("model:\n  type: BottomupPoseEstimator\n  head: {type: CifCafHead, input_transform: concat}\n", "model.head.input_transform")]
    public void ConfigErrorsNameTheKey(string yaml, string key)
    {
        var e = Assert.Throws<ConfigException>(() => FromText(yaml));
        Assert.Contains(key, e.Message);
    }

    [Fact]
    public void BuildErrorsNameTheKey()
    {
        var outOfRange = Assert.Throws<ArgumentException>(() => ModelFactory.BuildBottomup(FromText(TinyCsp.Replace("upsample: 2}", "in_index: 5}"))));
        Assert.Contains("model.head.in_index", outOfRange.Message);
        var topdown = Assert.Throws<ArgumentException>(() => ModelFactory.Build(FromText(TinyCsp)));
        Assert.Contains("model.type", topdown.Message);
    }
}
