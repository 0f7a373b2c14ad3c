using Distill.Pose.Models;
using Distill.Pose.Models.Checkpoints;
using Distill.Pose.Models.Options;
using Distill.Pose.Tests.Datasets;
using Distill.Torch;
using Distill.Torch.Nn;
using Distill.Torch.Serialization;

namespace Distill.Pose.Tests.Checkpoints;

/// <summary>
/// Published weights leave out the modules a model's forward never uses (CSPNeXt stages after the last output index),
/// record them in the file, and load back into a fresh model with bit-identical outputs.
/// </summary>
public sealed class PublishedWeightsTests
{
    // CSPNeXt has a stem (index 0) and stages 1-4 (modules backbone.stage1 .. backbone.stage4); stage i feeds only
    // stage i+1, so with out_indices [n] the stages after n are computed by nobody.
    private static ModelOptions Tiny(string outIndices) => ModelConfig.Parse($"""
        model:
          keypoint_set: coco17
          input_size: [32, 32]
          backbone:
            deepen_factor: 0.167
            widen_factor: 0.125
            out_indices: {outIndices}
          head:
            gau:
              hidden_dims: 16
              s: 8
        """, "tiny");

    private static (TopdownPoseEstimator Model, string Checkpoint) TrainedLike(TempFiles tmp, ModelOptions o)
    {
        torch.ManualSeed(7);
        var (model, _) = ModelFactory.Build(o);
        // Running statistics away from their defaults, so a stage left at its initial values would show.
        using (Autograd.NoGrad())
            foreach (var (name, b) in model.NamedBuffers())
                if (name.EndsWith("running_mean", StringComparison.Ordinal)) b.Normal_(0, 0.1);
                else if (name.EndsWith("running_var", StringComparison.Ordinal)) b.Uniform_(0.5, 1.5);
        var path = Path.Combine(tmp.Dir, "run.safetensors");
        SafeTensors.Save(path, model.StateDict());
        return (model, path);
    }

    private static Dictionary<string, Tensor> Outputs(TopdownPoseEstimator model)
    {
        model.Eval();
        using var _ = Autograd.NoGrad();
        using var gen = new Generator(3);
        using var x = torch.Randn([2, 3, 32, 32], gen);
        return model.Forward(x);
    }

    [Theory]
    [InlineData("[3]", new[] { "backbone.stage4" })]
    [InlineData("[2]", new[] { "backbone.stage3", "backbone.stage4" })]
    public void UnusedStagesAreLeftOutRecordedAndTheReloadedModelComputesTheSame(string outIndices, string[] unused)
    {
        using var tmp = new TempFiles();
        var o = Tiny(outIndices);
        var (original, ckpt) = TrainedLike(tmp, o);
        using var __ = original;
        var allKeys = original.StateDict().Select(kv => kv.Key).ToList();
        var expectedKept = allKeys.Where(k => !unused.Any(u => k.StartsWith(u + ".", StringComparison.Ordinal))).ToList();
        Assert.True(expectedKept.Count < allKeys.Count);

        var dest = Path.Combine(tmp.Dir, "pub.safetensors");
        var report = WeightsPublisher.Publish(ckpt, dest, o);
        Assert.Equal(unused, report.Omitted);
        Assert.Equal(allKeys.Count - expectedKept.Count, report.LeftOut);
        Assert.Equal(new FileInfo(dest).Length, report.BytesAfter);
        Assert.True(report.BytesAfter < report.BytesBefore);

        var header = SafeTensors.ReadHeader(dest);
        Assert.Equal(expectedKept, header.Tensors.Select(t => t.Name).ToList());
        Assert.Equal(string.Join(",", unused), header.Metadata[OmittedWeights.MetadataKey]);

        // The same checkpoint gives the same bytes.
        var again = Path.Combine(tmp.Dir, "pub2.safetensors");
        Assert.Equal(report.Sha256, WeightsPublisher.Publish(ckpt, again, o).Sha256);
        Assert.Equal(File.ReadAllBytes(dest), File.ReadAllBytes(again));

        // A fresh model (other initial values) loads the file; the left-out stages keep those values.
        torch.ManualSeed(99);
        var (fresh, _) = ModelFactory.Build(o);
        using var ___ = fresh;
        var initial = fresh.StateDict().Where(kv => !expectedKept.Contains(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value.Clone());
        var loaded = WeightsLoader.LoadInto(fresh, dest);
        Assert.Equal(unused, loaded.Omitted);
        Assert.Equal(initial.Keys.ToList(), loaded.LeftInitialised);
        Assert.Equal(expectedKept.Count, loaded.Loaded);
        Assert.Contains($"{initial.Count} left as initialised under {string.Join(", ", unused)}", loaded.ToString());
        foreach (var (key, t) in fresh.StateDict().Where(kv => initial.ContainsKey(kv.Key)))
        {
            using var same = t.Eq(initial[key]).All();
            Assert.True(same.ItemLong() == 1, $"{key} changed although the file leaves it out");
        }
        foreach (var t in initial.Values) t.Dispose();

        var want = Outputs(original);
        var got = Outputs(fresh);
        Assert.Equal(want.Keys.Order(), got.Keys.Order());
        foreach (var (name, w) in want)
        {
            using var same = got[name].Eq(w).All();
            Assert.True(same.ItemLong() == 1, $"output {name} differs after loading the published weights");
        }
        foreach (var t in want.Values.Concat(got.Values)) t.Dispose();
    }

    [Fact]
    public void AMissingKeyOutsideTheRecordedModulesIsRefusedByName()
    {
        using var tmp = new TempFiles();
        var o = Tiny("[3]");
        var (original, ckpt) = TrainedLike(tmp, o);
        original.Dispose();
        var dest = Path.Combine(tmp.Dir, "pub.safetensors");
        WeightsPublisher.Publish(ckpt, dest, o);

        // The published file with one more tensor dropped, still claiming only stage4 as left out.
        var tensors = SafeTensors.Load(dest, out var metadata);
        const string dropped = "backbone.stage3.0.conv.weight";
        Assert.True(tensors.Remove(dropped, out var gone));
        gone.Dispose();
        var broken = Path.Combine(tmp.Dir, "broken.safetensors");
        SafeTensors.Save(broken, tensors, metadata);
        foreach (var t in tensors.Values) t.Dispose();

        var (fresh, _) = ModelFactory.Build(o);
        using var _ = fresh;
        var e = Assert.Throws<InvalidDataException>(() => WeightsLoader.LoadInto(fresh, broken));
        Assert.StartsWith(broken + ": cannot load state dict", e.Message);
        Assert.Contains("missing keys (1): " + dropped, e.Message);
        Assert.Contains("records only backbone.stage4 as left out", e.Message);
    }

    [Fact]
    public void AModelThatUsesEveryStageLosesNothingAndWritesWhatPublishAlwaysWrote()
    {
        using var tmp = new TempFiles();
        var o = Tiny("[4]");
        var (original, ckpt) = TrainedLike(tmp, o);
        var dest = Path.Combine(tmp.Dir, "pub.safetensors");
        var report = WeightsPublisher.Publish(ckpt, dest, o);
        Assert.Empty(report.Omitted);
        Assert.Equal(0, report.LeftOut);
        var header = SafeTensors.ReadHeader(dest);
        Assert.False(header.Metadata.ContainsKey(OmittedWeights.MetadataKey));
        // A plain state dict without metadata: the bytes of saving the model's weights directly.
        var plain = Path.Combine(tmp.Dir, "plain.safetensors");
        SafeTensors.Save(plain, original.StateDict());
        original.Dispose();
        Assert.Equal(File.ReadAllBytes(plain), File.ReadAllBytes(dest));
    }

    /// <summary>Uses one layer under no_grad: no gradient reaches it, but the output depends on it.</summary>
    private sealed class HiddenUse : Module<Tensor, Dictionary<string, Tensor>>
    {
        private readonly Linear _used = new(4, 2);
        private readonly Linear _hidden = new(4, 2);

        public HiddenUse()
        {
            RegisterModule("used", _used);
            RegisterModule("hidden", _hidden);
        }

        public override Dictionary<string, Tensor> Forward(Tensor input)
        {
            using var flat = input.Mean([1, 2]);
            using var a = _used.Forward(flat);
            Tensor b;
            using (Autograd.NoGrad()) b = _hidden.Forward(flat);
            using var __ = b;
            return new() { ["out"] = a.Add(b) };
        }
    }

    [Fact]
    public void AModuleReadOutsideAutogradIsCaughtByTheOutputCheck()
    {
        using var model = new HiddenUse();
        var unused = OmittedWeights.FindUnused(model, (4, 3));
        Assert.Equal(["hidden"], unused);
        var e = Assert.Throws<InvalidOperationException>(() => OmittedWeights.VerifyUnused(model, (4, 3), unused));
        Assert.Contains("changes when hidden change", e.Message);
    }
}
