using Distill.Torch;
using Distill.Torch.Serialization;
using static Distill.Torch.Tests.Serialization.SerializationTestSupport;

namespace Distill.Torch.Tests.Serialization;

public class StateDictLoaderTests
{
    private static Dictionary<string, float[]> Floats(OrderedDictionary<string, Tensor> sd)
    {
        try
        {
            return sd.ToDictionary(kv => kv.Key, kv => kv.Value.DType == DType.Float32 ? kv.Value.ToArray<float>() : [kv.Value.ItemLong()]);
        }
        finally
        {
            sd.DisposeTensors();
        }
    }

    [Fact]
    public void UsesStateDictEntryAndStripsModulePrefix()
    {
        var sd = StateDictLoader.LoadStateDict(TestFile("checkpoint.pth"));
        try
        {
            Assert.Equal(new[] { "backbone.conv.weight", "backbone.bn.num_batches_tracked", "head.fc.weight", "head.fc.bias" }, sd.Keys);
            Assert.Equal(new long[] { 2, 1, 2, 2 }, sd["backbone.conv.weight"].Shape);
            Assert.Equal(Enumerable.Range(0, 8).Select(i => (float)i), sd["backbone.conv.weight"].ToArray<float>());
            Assert.Equal(DType.Int64, sd["backbone.bn.num_batches_tracked"].DType);
            Assert.Empty(sd["backbone.bn.num_batches_tracked"].Shape);
            Assert.Equal(42L, sd["backbone.bn.num_batches_tracked"].ItemLong());
            Assert.Equal(new[] { 0.125f }, sd["head.fc.bias"].ToArray<float>());
        }
        finally
        {
            sd.DisposeTensors();
        }

        var kept = StateDictLoader.LoadStateDict(TestFile("checkpoint.pth"), new() { StripModulePrefix = false });
        Assert.All(kept.Keys, k => Assert.StartsWith("module.", k));
        kept.DisposeTensors();
    }

    [Fact]
    public void RootMapOfTensorsIsTheStateDict()
    {
        var sd = StateDictLoader.LoadStateDict(TestFile("dtypes.pth"));
        Assert.Equal(new[] { "f16", "bf16", "i64", "i32", "i16", "i8", "u8", "bool", "f64", "empty" }, sd.Keys);
        sd.DisposeTensors();
    }

    [Fact]
    public void PrefixSelectsStudentOrTeacherAndExcludesEmaByDefault()
    {
        string path = TestFile("distill.pth");
        var all = Floats(StateDictLoader.LoadStateDict(path));
        Assert.Equal(new[] { "student.backbone.w", "student.head.b", "teacher.backbone.w", "teacher.head.b" }, all.Keys);

        var student = Floats(StateDictLoader.LoadStateDict(path, new() { Prefix = "student." }));
        Assert.Equal(new[] { "backbone.w", "head.b" }, student.Keys);
        Assert.Equal(new[] { 1f, 2f }, student["backbone.w"]);
        Assert.Equal(new[] { 3f }, student["head.b"]);

        var teacher = Floats(StateDictLoader.LoadStateDict(path, new() { Prefix = "teacher." }));
        Assert.Equal(new[] { 10f, 20f, 30f }, teacher["backbone.w"]);
        Assert.Equal(new[] { 40f }, teacher["head.b"]);

        // ema.student.* -> student.* -> (prefix) *
        var ema = Floats(StateDictLoader.LoadStateDict(path, new() { Prefix = "student.", UseEma = true }));
        Assert.Equal(new[] { "backbone.w", "head.b" }, ema.Keys);
        Assert.Equal(new[] { 1.5f, 2.5f }, ema["backbone.w"]);
        Assert.Equal(new[] { 3.5f }, ema["head.b"]);
    }

    [Fact]
    public void EmaStateDictEntryIsUsedWithoutTheWrappersCounter()
    {
        string path = TestFile("ema_entry.pth");
        var raw = Floats(StateDictLoader.LoadStateDict(path));
        Assert.Equal(new[] { "w" }, raw.Keys);
        Assert.Equal(new[] { 1f, 2f }, raw["w"]);
        // ema_state_dict = {steps: 10, module.w: [1.25, 2.25]}: 'steps' belongs to the averaging wrapper.
        var ema = Floats(StateDictLoader.LoadStateDict(path, new() { UseEma = true }));
        Assert.Equal(new[] { "w" }, ema.Keys);
        Assert.Equal(new[] { 1.25f, 2.25f }, ema["w"]);
    }

    [Fact]
    public void MissingEmaPrefixOrEntryAreNamedErrors()
    {
        string path = TestFile("checkpoint.pth");
        var ex = Assert.Throws<CheckpointFormatException>(() => StateDictLoader.LoadStateDict(path, new() { UseEma = true }));
        Assert.Contains("no EMA weights", ex.Message);
        ex = Assert.Throws<CheckpointFormatException>(() => StateDictLoader.LoadStateDict(path, new() { Prefix = "student." }));
        Assert.Contains("no key starts with 'student.'", ex.Message);
        Assert.Contains("backbone.conv.weight", ex.Message);
        ex = Assert.Throws<CheckpointFormatException>(() => StateDictLoader.LoadStateDict(path, new() { Entry = "model" }));
        Assert.Contains("no entry 'model'", ex.Message);
        // 'meta' exists but holds numbers and placeholders, not tensors: the first offending key is named.
        ex = Assert.Throws<CheckpointFormatException>(() => StateDictLoader.LoadStateDict(path, new() { Entry = "meta" }));
        Assert.Contains("'epoch'", ex.Message);
        Assert.Contains("not a tensor", ex.Message);
    }

    [Fact]
    public void PlaceholderWhereATensorBelongsNamesTheKey()
    {
        string path = TestFile("placeholder_in_state_dict.pth");
        var ex = Assert.Throws<CheckpointFormatException>(() => StateDictLoader.LoadStateDict(path));
        Assert.Contains(path, ex.Message);
        Assert.Contains("'head.bad'", ex.Message);
        Assert.Contains("numpy.core.multiarray._reconstruct", ex.Message);
        // The full tree still loads: the numpy array is only a placeholder there.
        var root = PthFile.Load(path);
        var sd = Assert.IsType<PickleDict>(Assert.IsType<PickleDict>(root)["state_dict"]);
        Assert.IsType<PickleObject>(sd["head.bad"]);
        TensorDisposal.DisposeTensors(root);
    }

    [Fact]
    public void SafeTensorsFilesGoThroughTheSameSelection()
    {
        using var dir = new TempDir();
        string path = dir.File("distill.bin"); // detected by content, not by extension
        using var s = torch.From(1f, 2f);
        using var t = torch.From(3f);
        using var e = torch.From(4f, 5f);
        SafeTensors.Save(path, [new("module.student.w", s), new("module.teacher.w", t), new("ema.module.student.w", e)]);

        var student = Floats(StateDictLoader.LoadStateDict(path, new() { Prefix = "student." }));
        Assert.Equal(new[] { "w" }, student.Keys);
        Assert.Equal(new[] { 1f, 2f }, student["w"]);
        var ema = Floats(StateDictLoader.LoadStateDict(path, new() { Prefix = "student.", UseEma = true }));
        Assert.Equal(new[] { 4f, 5f }, ema["w"]);
        Assert.Throws<CheckpointFormatException>(() => StateDictLoader.LoadStateDict(path, new() { Entry = "state_dict" }));
    }

    [Fact]
    public void SafeTensorsIsRecognisedWhateverItsLengthBytesLookLike()
    {
        // Grow one name until the padded header length has 0x80 (the pickle PROTO byte) as its low byte.
        using var dir = new TempDir();
        string path = dir.File("w.bin");
        using var a = torch.From(1f);
        for (int len = 1; ; len++)
        {
            SafeTensors.Save(path, [new(new string('w', len), a)]);
            if (File.ReadAllBytes(path)[0] == 0x80) break;
            Assert.True(len < 300, "no name length gave a 0x80 low byte");
        }
        var sd = StateDictLoader.LoadStateDict(path);
        Assert.Equal(new[] { 1f }, Assert.Single(sd.Values).ToArray<float>());
        sd.DisposeTensors();
    }

    [Fact]
    public void KeysThatCollideAfterStrippingAreRefused()
    {
        using var dir = new TempDir();
        string path = dir.File("dup.safetensors");
        using var a = torch.From(1f);
        SafeTensors.Save(path, [new("w", a), new("module.w", a)]);
        var ex = Assert.Throws<CheckpointFormatException>(() => StateDictLoader.LoadStateDict(path));
        Assert.Contains("'w' and 'module.w' both become 'w'", ex.Message);
    }
}
