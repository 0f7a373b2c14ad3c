using System.Text.Json;
using Distill.Pose.Models;
using Distill.Pose.Models.Backbones;
using Distill.Pose.Models.Checkpoints;
using Distill.Pose.Models.Heads;
using Distill.TestSupport;
using Distill.Torch;
using Distill.Torch.Serialization;
using static Distill.Pose.Tests.Checkpoints.TinyVitCheckpoints;
using static Distill.Pose.Tests.Models.FixtureParityTests;

namespace Distill.Pose.Tests.Models;

/// <summary>
/// The HRFormer-S fixture (mmpose's own model, random weights, ../shared/fixtures/hrformer-small_coco_256x192) built
/// from the shipped config, loaded from the .pth through the checkpoint loader, and run once on the fixture input.
/// </summary>
public sealed class HRFormerFixture : IDisposable
{
    public const string Name = "hrformer-small_coco_256x192";
    public static string Dir => SharedData.Fixture(Name);
    public static string Pth => Path.Combine(Dir, Name + ".pth");
    public static readonly long[] InputShape = [2, 3, 256, 192];

    public TopdownPoseEstimator Model { get; }
    public Tensor Input { get; }
    public Tensor Layer1 { get; }
    public Tensor[] Stage2 { get; }
    public Tensor[] Stage3 { get; }
    public Tensor[] Stage4 { get; }
    public Tensor Heatmaps { get; }

    /// <summary>The fixture's state dict as mmpose listed it: name, shape, dtype, in order.</summary>
    public List<(string Name, long[] Shape, string DType)> StateDictList { get; }

    public HRFormerFixture()
    {
        var options = ModelConfig.Load(Path.Combine(SharedData.RepoRoot, "configs", "models", "hrformer-s_coco.yaml"));
        Model = ModelFactory.Build(options).Model;
        WeightsLoader.LoadInto(Model, Pth);
        Model.Eval();
        Input = ReadBin(Path.Combine(Dir, "input.bin"), InputShape).DetachFromDisposeScope();
        using (Autograd.InferenceMode())
        {
            var all = ((HRFormer)Model.Backbone).ForwardAll(Input);
            (Layer1, Stage2, Stage3, Stage4) = all;
            Heatmaps = Model.Head.Forward(Stage4)["heatmaps"];
        }
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, "fixture.json")));
        StateDictList = json.RootElement.GetProperty("state_dict").EnumerateArray()
            .Select(e => (e[0].GetString()!, e[1].EnumerateArray().Select(d => d.GetInt64()).ToArray(), e[2].GetString()!)).ToList();
    }

    public void Dispose()
    {
        foreach (var t in new[] { Input, Layer1, Heatmaps }.Concat(Stage2).Concat(Stage3).Concat(Stage4)) t.Dispose();
        Model.Dispose();
    }
}

public sealed class HRFormerTests(HRFormerFixture f) : IClassFixture<HRFormerFixture>
{
    private static bool Same(Tensor a, Tensor b)
    {
        using var eq = a.Eq(b);
        using var all = eq.All();
        return a.Shape.SequenceEqual(b.Shape) && all.ItemLong() == 1;
    }

    private static Tensor Expected(string file, params long[] shape) => ReadBin(Path.Combine(HRFormerFixture.Dir, file), shape);

    [Fact]
    public void BackboneAndHeatmapsMatchMmpose()
    {
        using var scope = torch.NewDisposeScope();
        Assert.Single(f.Stage4);
        AssertClose(Expected("backbone_out.bin", 2, 32, 64, 48), f.Stage4[0].Contiguous(), 1e-4, 1e-4, "backbone");
        AssertClose(Expected("heatmaps.bin", 2, 17, 64, 48), f.Heatmaps.Contiguous(), 1e-3, 0, "heatmaps");
    }

    [Theory]
    [InlineData("backbone_layer1.bin", 256)]
    [InlineData("backbone_stage2.bin", 32)]
    [InlineData("backbone_stage3.bin", 32)]
    [InlineData("backbone_stage4.bin", 32)]
    public void EveryStageMatchesMmpose(string file, long channels)
    {
        using var scope = torch.NewDisposeScope();
        var actual = file switch
        {
            "backbone_layer1.bin" => f.Layer1,
            "backbone_stage2.bin" => f.Stage2[0],
            "backbone_stage3.bin" => f.Stage3[0],
            _ => f.Stage4[0],
        };
        AssertClose(Expected(Path.Combine("intermediates", file), 2, channels, 64, 48), actual.Contiguous(), 1e-4, 1e-4, file);
        Assert.Equal(2, f.Stage2.Length);
        Assert.Equal(3, f.Stage3.Length);
    }

    [Fact]
    public void StateDictIsMmposesNameForNameInOrder()
    {
        var ours = f.Model.StateDict().Select(kv => (kv.Key, kv.Value.Shape, kv.Value.DType == DType.Int64 ? "int64" : "float32")).ToList();
        Assert.Equal(1900, f.StateDictList.Count);
        Assert.Equal(f.StateDictList.Select(e => e.Name), ours.Select(e => e.Key));
        for (int i = 0; i < ours.Count; i++)
        {
            Assert.True(f.StateDictList[i].Shape.SequenceEqual(ours[i].Shape), $"{ours[i].Key}: shape");
            Assert.Equal(f.StateDictList[i].DType, ours[i].Item3);
        }
    }

    [Fact]
    public void BuiltRelativePositionIndexEqualsTheStoredBuffer()
    {
        var stored = StateDictLoader.LoadStateDict(HRFormerFixture.Pth);
        try
        {
            using var fresh = new HRFormer(HRFormerArch.Small);
            var own = fresh.StateDict().Where(kv => kv.Key.EndsWith("relative_position_index", StringComparison.Ordinal)).ToList();
            Assert.Equal(44, own.Count); // 2 blocks x (2 + 3 x 4 + 4 x 2) branches
            foreach (var (key, index) in own)
                Assert.True(Same(index, stored["backbone." + key]), key);
            // index[a, b] = (y_a - y_b + 6) * 13 + (x_a - x_b + 6): a = (0,0), b = (0,0) / (6,6); a = (6,6), b = (0,0); a = (0,1), b = (0,0).
            var i = own[0].Value;
            Assert.Equal(84, i[0][0].ItemLong());
            Assert.Equal(0, i[0][48].ItemLong());
            Assert.Equal(168, i[48][0].ItemLong());
            Assert.Equal(85, i[1][0].ItemLong());
            Assert.Equal(6 * 13 + 6 + 13, i[7][0].ItemLong()); // a = (1, 0)
        }
        finally
        {
            stored.DisposeTensors();
        }
    }

    [Theory]
    [InlineData(64, 48, 3, 3, 0, 1)]
    [InlineData(32, 24, 1, 2, 2, 2)]
    [InlineData(16, 12, 2, 3, 1, 1)]
    [InlineData(8, 6, 3, 3, 0, 1)]
    [InlineData(14, 7, 0, 0, 0, 0)]
    public void WindowPaddingIsCentredWithTheSmallerHalfFirst(long h, long w, long top, long bottom, long left, long right) =>
        Assert.Equal((top, bottom, left, right), LocalWindowSelfAttention.Padding(h, w, (7, 7)));

    [Fact]
    public void DropPathRisesLinearlyOverTheFourteenBlocks()
    {
        var hr = (HRFormer)f.Model.Backbone;
        Assert.Equal(0.1, hr.DropPathRate);
        var rates = new List<double>();
        foreach (var stage in hr.Stages)
            foreach (var module in stage)
            {
                var block0 = (HRFormerBlock)module.Branches[0][0];
                var block1 = (HRFormerBlock)module.Branches[0][1];
                // Every branch of a module uses the same two rates.
                foreach (var branch in module.Branches)
                {
                    Assert.Equal(block0.DropPathRate, ((HRFormerBlock)branch[0]).DropPathRate);
                    Assert.Equal(block1.DropPathRate, ((HRFormerBlock)branch[1]).DropPathRate);
                }
                rates.Add(block0.DropPathRate);
                rates.Add(block1.DropPathRate);
            }
        Assert.Equal(14, rates.Count);
        for (int i = 0; i < 14; i++) Assert.Equal(0.1 * i / 13, rates[i], 12);
    }

    [Fact]
    public void LegacyKeypointHeadCheckpointLoadsAsItIs()
    {
        using var dir = new TempDir();
        var path = dir.File("hrformer_0x.safetensors");
        var stored = StateDictLoader.LoadStateDict(HRFormerFixture.Pth);
        try
        {
            SafeTensors.Save(path, stored.Select(kv => new KeyValuePair<string, Tensor>(kv.Key.Replace("head.final_layer", "keypoint_head.final_layer"), kv.Value)));
        }
        finally
        {
            stored.DisposeTensors();
        }
        Assert.Contains("keypoint_head.final_layer.weight", SafeTensors.ReadHeader(path).Tensors.Select(t => t.Name));
        Assert.Equal(CheckpointLayout.MmposeLegacy, KeyMaps.Detect(SafeTensors.ReadHeader(path).Tensors.Select(t => t.Name)));

        var (model, _) = ModelFactory.Build(ModelConfig.Load(Path.Combine(SharedData.RepoRoot, "configs", "models", "hrformer-s_coco.yaml")));
        using (model)
        {
            WeightsLoader.LoadInto(model, path);
            var head = ((HeatmapHead)model.Head).FinalLayer;
            var expected = ((HeatmapHead)f.Model.Head).FinalLayer;
            Assert.True(Same(head.Weight, expected.Weight));
            Assert.True(Same(head.Bias!, expected.Bias!));
        }
    }

    [Fact]
    public void ImageNetBackboneWithoutPrefixInitialisesTheBackbone()
    {
        using var dir = new TempDir();
        var path = dir.File("hrformer_small_imagenet.safetensors");
        var stored = StateDictLoader.LoadStateDict(HRFormerFixture.Pth);
        var extra = new List<KeyValuePair<string, Tensor>>();
        try
        {
            // The backbone's own names, plus what a classifier adds around it.
            using var scope = torch.NewDisposeScope();
            var entries = stored.Where(kv => kv.Key.StartsWith("backbone.", StringComparison.Ordinal))
                .Select(kv => new KeyValuePair<string, Tensor>(kv.Key["backbone.".Length..], kv.Value)).ToList();
            entries.Add(new("incre_modules.0.0.conv1.weight", torch.Zeros([32, 32, 1, 1])));
            entries.Add(new("final_layer.0.weight", torch.Zeros([2048, 1024, 1, 1])));
            entries.Add(new("classifier.weight", torch.Zeros([1000, 2048])));
            SafeTensors.Save(path, entries);
        }
        finally
        {
            stored.DisposeTensors();
        }

        var (model, _) = ModelFactory.Build(ModelConfig.Load(Path.Combine(SharedData.RepoRoot, "configs", "models", "hrformer-s_coco.yaml")));
        using (model)
        {
            var report = PretrainedLoader.LoadBackbone(model, path);
            Assert.Equal(CheckpointLayout.BareBackbone, report.Layout);
            Assert.True(report.BackboneComplete, report.ToString());
            Assert.Equal(1898, report.LoadedKeys.Count);
            Assert.Equal(["classifier.weight", "final_layer.0.weight", "incre_modules.0.0.conv1.weight"], report.IgnoredKeys.Order().ToArray());
            Assert.Equal(["head.final_layer.weight", "head.final_layer.bias"], report.MissingKeys);
            model.Eval();
            using var scope = torch.NewDisposeScope();
            using var _ = Autograd.InferenceMode();
            var feats = model.Backbone.Forward(f.Input);
            AssertClose(Expected("backbone_out.bin", 2, 32, 64, 48), feats[0].Contiguous(), 1e-4, 1e-4, "backbone after ImageNet-layout init");
        }
    }
}

public class HRFormerShapeTests
{
    /// <summary>
    /// Parameters of an HRFormer with the given widths and heads (1/4/2 or 1/3/2 modules, 2 blocks, window 7, MLP ratio
    /// 4), summed from the layer shapes of the architecture description, and a 1x1-conv heatmap head of 17 maps.
    /// </summary>
    private static long HandCount(long[] c, long[] heads, int[] modules, bool withHead = false)
    {
        long Bn(long n) => 2 * n;
        // Stem and layer1: two 3x3 convs, two bottlenecks (64 mid, 256 out; the first with a 1x1 downsample).
        long total = 3 * 64 * 9 + Bn(64) + 64 * 64 * 9 + Bn(64);
        total += 64 * 64 + Bn(64) + 64 * 64 * 9 + Bn(64) + 64 * 256 + Bn(256) + 64 * 256 + Bn(256);
        total += 256 * 64 + Bn(64) + 64 * 64 * 9 + Bn(64) + 64 * 256 + Bn(256);
        // Transitions: 3x3 conv + BN into branch 0 and 1 from 256, then each new branch from the previous last one.
        total += 256 * c[0] * 9 + Bn(c[0]) + 256 * c[1] * 9 + Bn(c[1]) + c[1] * c[2] * 9 + Bn(c[2]) + c[2] * c[3] * 9 + Bn(c[3]);
        long Block(long d, long h) =>
            Bn(d) + 169 * h + (3 * d * d + 3 * d) + (d * d + d) + Bn(d)          // LN, bias table, qkv, proj, LN
            + (d * 4 * d + 4 * d) + Bn(4 * d) + (4 * d * 9 + 4 * d) + Bn(4 * d)  // fc1, BN, depthwise 3x3, BN
            + (4 * d * d + d) + Bn(d);                                            // fc2, BN
        long Fuse(int n, int rows)
        {
            long sum = 0;
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < n; j++)
                {
                    if (j > i) sum += c[j] * c[i] + Bn(c[i]);
                    for (int k = 0; k < i - j; k++)
                    {
                        long cout = k == i - j - 1 ? c[i] : c[j];
                        sum += c[j] * 9 + Bn(c[j]) + c[j] * cout + Bn(cout);
                    }
                }
            return sum;
        }
        for (int s = 0; s < 3; s++)
        {
            int n = s + 2;
            for (int m = 0; m < modules[s]; m++)
            {
                for (int i = 0; i < n; i++) total += 2 * Block(c[i], heads[i]);
                total += Fuse(n, s == 2 && m == modules[s] - 1 ? 1 : n);
            }
        }
        return withHead ? total + 17 * c[0] + 17 : total;
    }

    [Fact]
    public void HandCountOfTheSmallModelIsTheFixturesCount()
    {
        // fixture.json: params.total 7,746,779, of which the backbone 7,746,218.
        Assert.Equal(7_746_218L, HandCount([32, 64, 128, 256], [1, 2, 4, 8], [1, 4, 2]));
        Assert.Equal(7_746_779L, HandCount([32, 64, 128, 256], [1, 2, 4, 8], [1, 4, 2], withHead: true));
    }

    [Theory]
    [InlineData("tiny", 2.52)]
    [InlineData("small", 7.75)]
    [InlineData("base", 43.21)]
    public void ParameterCountsAreTheHandCountsAndTheFacts(string arch, double millions)
    {
        var a = HRFormerArch.FromName(arch)!;
        using var backbone = new HRFormer(a);
        Assert.Equal(HandCount(a.Channels, a.Heads, a.Modules), backbone.NumParameters());
        // The reference's figures are rounded to 10 k parameters.
        Assert.Equal(millions, Math.Round(backbone.NumParameters() / 1e6, 2));
    }

    [Fact]
    public void MultiscaleOutputReturnsAllFourBranchesAndKeepsBranchZero()
    {
        var arch = new HRFormerArch([8, 16, 24, 32], [1, 2, 2, 4], [1, 1, 2], Blocks: 1);
        torch.ManualSeed(3);
        using var multi = new HRFormer(arch, 0, multiscaleOutput: true);
        using var single = new HRFormer(arch, 0);
        var extra = multi.StateDict().Select(kv => kv.Key).Except(single.StateDict().Select(kv => kv.Key)).ToList();
        Assert.NotEmpty(extra);
        Assert.All(extra, k => Assert.Matches(@"^stage4\.1\.fuse_layers\.[123]\.", k));
        Assert.Empty(single.StateDict().Select(kv => kv.Key).Except(multi.StateDict().Select(kv => kv.Key)));
        var sd = multi.StateDict().Where(kv => !extra.Contains(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value);
        single.LoadStateDict(sd);
        multi.Eval();
        single.Eval();
        Assert.Equal([8L, 16, 24, 32], multi.OutChannels);
        Assert.Equal([4, 8, 16, 32], multi.OutStrides);

        using var scope = torch.NewDisposeScope();
        using var _ = Autograd.InferenceMode();
        var x = torch.Randn([2, 3, 128, 96]);
        var all = multi.Forward(x);
        var one = single.Forward(x);
        Assert.Equal(4, all.Length);
        Assert.Single(one);
        for (int i = 0; i < 4; i++) Assert.Equal([2L, arch.Channels[i], 128 >> (i + 2), 96 >> (i + 2)], all[i].Shape);
        Assert.True(all[0].AllClose(one[0], 0, 0), "branch 0 differs between the multiscale and the single-output model");
    }

    [Fact]
    public void OddMapSizesFuseAtEachBranchsExactSize()
    {
        // 101 x 77 gives branches of 26x20, 13x10, 7x5 and 4x3: upsampling 4x3 by 2 would not give 7x5.
        var arch = new HRFormerArch([8, 16, 24, 32], [1, 2, 2, 4], [1, 1, 1], Blocks: 1);
        using var backbone = new HRFormer(arch, 0, multiscaleOutput: true);
        backbone.Eval();
        using var scope = torch.NewDisposeScope();
        using var _ = Autograd.InferenceMode();
        var outs = backbone.Forward(torch.Randn([1, 3, 101, 77]));
        Assert.Equal([[1L, 8, 26, 20], [1L, 16, 13, 10], [1L, 24, 7, 5], [1L, 32, 4, 3]], outs.Select(o => o.Shape).ToArray());
        Assert.All(outs, o => Assert.Equal(1, o.IsFinite().All().ItemLong()));
    }

    [Fact]
    public void ConfigKeysOverrideTheArch()
    {
        var o = new Distill.Pose.Models.Options.ModelOptions();
        o.Backbone.Type = Distill.Pose.Models.Options.BackboneType.HRFormer;
        o.Backbone.Arch = "base";
        o.Backbone.NumModules = [1, 2, 1];
        var arch = ModelFactory.HRFormerArchOf(o.Backbone);
        Assert.Equal([78L, 156, 312, 624], arch.Channels);
        Assert.Equal([2L, 4, 8, 16], arch.Heads);
        Assert.Equal([1, 2, 1], arch.Modules);

        o.Backbone.MultiscaleOutput = true;
        o.Head.Type = Distill.Pose.Models.Options.HeadType.HeatmapHead;
        var e = Assert.Throws<ArgumentException>(() => ModelFactory.Build(o));
        Assert.Contains("multiscale_output", e.Message);
    }
}
