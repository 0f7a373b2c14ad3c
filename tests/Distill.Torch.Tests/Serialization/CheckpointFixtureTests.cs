using System.Text.Json;
using Distill.TestSupport;
using Distill.Torch;
using Distill.Torch.Serialization;
using static Distill.Torch.Tests.Serialization.SerializationTestSupport;

namespace Distill.Torch.Tests.Serialization;

/// <summary>
/// The mmpose parity checkpoints: mmengine-style .pth files written by torch.save, and the same tensors as
/// safetensors. Expected key lists, shapes and dtypes come from each fixture's fixture.json.
/// </summary>
public class CheckpointFixtureTests
{
    private static (List<(string Name, long[] Shape, DType DType)> Keys, long Elements, JsonDocument Doc) Expected(string fixture)
    {
        var doc = JsonDocument.Parse(File.ReadAllBytes(SharedData.Fixture(fixture, "fixture.json")));
        var keys = new List<(string, long[], DType)>();
        foreach (var e in doc.RootElement.GetProperty("state_dict").EnumerateArray())
        {
            var shape = e[1].EnumerateArray().Select(d => d.GetInt64()).ToArray();
            var dtype = e[2].GetString() switch
            {
                "float32" => DType.Float32,
                "int64" => DType.Int64,
                var s => throw new InvalidDataException("unexpected dtype " + s),
            };
            keys.Add((e[0].GetString()!, shape, dtype));
        }
        long elements = doc.RootElement.GetProperty("params").GetProperty("state_dict_elements_incl_buffers").GetInt64();
        return (keys, elements, doc);
    }

    [Theory]
    [InlineData("rtmpose-t_coco_256x192", 218)]
    [InlineData("vit-tiny4_coco_256x192", 67)]
    public void PthStateDictMatchesFixtureAndSafeTensors(string fixture, int expectedCount)
    {
        var (keys, elements, doc) = Expected(fixture);
        using var _ = doc;
        Assert.Equal(expectedCount, keys.Count);
        Assert.Equal(expectedCount, doc.RootElement.GetProperty("params").GetProperty("state_dict_tensors").GetInt32());

        var pth = StateDictLoader.LoadStateDict(SharedData.Fixture(fixture, fixture + ".pth"));
        var st = SafeTensors.Load(SharedData.Fixture(fixture, fixture + ".safetensors"), out var meta);
        try
        {
            Assert.Equal(keys.Select(k => k.Name), pth.Keys); // same names, same order
            Assert.Equal(keys.Select(k => k.Name), st.Keys);
            long total = 0;
            foreach (var (name, shape, dtype) in keys)
            {
                Assert.True(shape.SequenceEqual(pth[name].Shape), $"{name}: shape");
                Assert.Equal(dtype, pth[name].DType);
                AssertIdentical(pth[name], st[name], name);
                total += pth[name].NumEl;
            }
            Assert.Equal(elements, total);

            var nbt = pth.Keys.Where(k => k.EndsWith(".num_batches_tracked", StringComparison.Ordinal)).ToList();
            Assert.NotEmpty(nbt);
            if (fixture.StartsWith("rtmpose"))
            {
                Assert.Equal(DType.Int64, pth["backbone.stem.0.bn.num_batches_tracked"].DType);
                Assert.Empty(pth["backbone.stem.0.bn.num_batches_tracked"].Shape);
                Assert.Equal(new long[] { 12, 3, 3, 3 }, pth["backbone.stem.0.conv.weight"].Shape);
                Assert.Equal("1.3.2", meta["mmpose_version"]);
            }
            foreach (var k in nbt)
            {
                Assert.Equal(DType.Int64, pth[k].DType);
                Assert.Empty(pth[k].Shape);
            }
        }
        finally
        {
            pth.DisposeTensors();
            st.DisposeTensors();
        }
    }

    [Fact]
    public void PthTreeKeepsMmengineMetaAsData()
    {
        const string fixture = "rtmpose-t_coco_256x192";
        var root = PthFile.Load(SharedData.Fixture(fixture, fixture + ".pth"));
        try
        {
            var top = Assert.IsType<PickleDict>(root);
            Assert.Equal(new object[] { "meta", "state_dict" }, top.Keys);
            var meta = Assert.IsType<PickleDict>(top["meta"]);
            Assert.Equal("1.3.2", meta["mmpose_version"]);
            Assert.Equal("configs/body_2d_keypoint/rtmpose/coco/rtmpose-t_8xb256-420e_coco-256x192.py", meta["config"]);
            var sd = Assert.IsType<PickleDict>(top["state_dict"]);
            Assert.Equal(218, sd.Count);
            var w = Assert.IsType<Tensor>(sd["head.cls_y.weight"]);
            Assert.Equal(new long[] { 512, 256 }, w.Shape);
            // PyTorch attaches per-module versions to a state dict: BatchNorm layers are version 2.
            var attrs = Assert.IsType<PickleDict>(sd.Attributes);
            var versions = Assert.IsType<PickleDict>(attrs["_metadata"]);
            var bn = Assert.IsType<PickleDict>(versions["backbone.stem.0.bn"]);
            Assert.Equal(2L, bn["version"]);
        }
        finally
        {
            TensorDisposal.DisposeTensors(root);
        }
    }

    [Fact]
    public void TruncatedPthIsRefusedWithoutCrashing()
    {
        const string fixture = "rtmpose-t_coco_256x192";
        var bytes = File.ReadAllBytes(SharedData.Fixture(fixture, fixture + ".pth"));
        using var dir = new TempDir();
        string path = dir.File("half.pth");
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var ex = Assert.Throws<CheckpointFormatException>(() => StateDictLoader.LoadStateDict(path));
        Assert.Contains(path, ex.Message);
        Assert.Contains("truncated", ex.Message);
        Assert.Throws<CheckpointFormatException>(() => PthFile.Load(path));
    }

    [Fact]
    public void TruncatedSafeTensorsIsRefused()
    {
        const string fixture = "rtmpose-t_coco_256x192";
        var bytes = File.ReadAllBytes(SharedData.Fixture(fixture, fixture + ".safetensors"));
        using var dir = new TempDir();
        string path = dir.File("half.safetensors");
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var ex = Assert.Throws<CheckpointFormatException>(() => SafeTensors.Load(path));
        Assert.Contains("tensor '", ex.Message); // the first tensor whose range is cut off
        Assert.Contains("truncated", ex.Message);
    }
}
