using System.Numerics;
using Distill.Torch;
using Distill.Torch.Serialization;
using static Distill.Torch.Tests.Serialization.SerializationTestSupport;

namespace Distill.Torch.Tests.Serialization;

/// <summary>
/// torch.save archives made by TestFiles/make_test_files.py (PyTorch 1.13). The tensors there are built from
/// literals, so the expected values below are those literals.
/// </summary>
public class PthFileTests
{
    private static PickleDict LoadDict(string name, out object? root)
    {
        root = PthFile.Load(TestFile(name));
        return Assert.IsType<PickleDict>(root);
    }

    [Fact]
    public void ReadsEveryDTypeAndScalarShape()
    {
        var d = LoadDict("dtypes.pth", out var root);
        try
        {
            Tensor T(string k) => Assert.IsType<Tensor>(d[k]);
            Assert.Equal(DType.Float16, T("f16").DType);
            Assert.Equal(new[] { (Half)1.5f, (Half)(-2.25f), (Half)65504f }, T("f16").ToArray<Half>());
            Assert.Equal(DType.BFloat16, T("bf16").DType);
            Assert.Equal(new[] { 1f, -3.5f, 0.15625f }, T("bf16").ToArray<BFloat16>().Select(b => b.ToSingle()));
            Assert.Equal(DType.Int64, T("i64").DType);
            Assert.Empty(T("i64").Shape);
            Assert.Equal(-1234567890123L, T("i64").ItemLong());
            Assert.Equal(new[] { int.MaxValue, int.MinValue }, T("i32").ToArray<int>());
            Assert.Equal(new short[] { -32768, 7 }, T("i16").ToArray<short>());
            Assert.Equal(new sbyte[] { -128, 127 }, T("i8").ToArray<sbyte>());
            Assert.Equal(new byte[] { 0, 255 }, T("u8").ToArray<byte>());
            Assert.Equal(new[] { true, false, true }, T("bool").ToArray<bool>());
            Assert.Equal(new long[] { 1, 2 }, T("f64").Shape);
            Assert.Equal(new[] { 0.1, -1e300 }, T("f64").ToArray<double>());
            Assert.Equal(new long[] { 0, 3 }, T("empty").Shape);
            Assert.Equal(DType.Float32, T("empty").DType);
        }
        finally
        {
            TensorDisposal.DisposeTensors(root);
        }
    }

    // base = arange(12).reshape(3, 4) = [[0,1,2,3],[4,5,6,7],[8,9,10,11]], and four views sharing its storage.
    [Theory]
    [InlineData("views.pth")]
    [InlineData("views_protocol4.pth")] // FRAME, MEMOIZE, SHORT_BINUNICODE, STACK_GLOBAL
    [InlineData("views_deflated.pth")] // compressed members: read through memory
    [InlineData("zip64.pth")] // zip64 sizes, offsets and end records, as in archives over 4 GB
    public void ReadsStridedViewsWithStorageOffsets(string file)
    {
        var d = LoadDict(file, out var root);
        try
        {
            Assert.Equal(new object[] { "base", "transposed", "offset", "strided", "corner_t" }, d.Keys);
            var b = Assert.IsType<Tensor>(d["base"]);
            Assert.Equal(Enumerable.Range(0, 12).Select(i => (float)i), b.ToArray<float>());
            // base.t(): size (4, 3), stride (1, 4) -> element [i, j] = base[j, i] = 4j + i.
            var t = Assert.IsType<Tensor>(d["transposed"]);
            Assert.Equal(new long[] { 4, 3 }, t.Shape);
            Assert.Equal(new float[] { 0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11 }, t.ToArray<float>());
            // base.view(-1)[5:9]: storage offset 5, four elements.
            Assert.Equal(new float[] { 5, 6, 7, 8 }, Assert.IsType<Tensor>(d["offset"]).ToArray<float>());
            // base[:, ::2]: stride (4, 2) -> columns 0 and 2.
            var s = Assert.IsType<Tensor>(d["strided"]);
            Assert.Equal(new long[] { 3, 2 }, s.Shape);
            Assert.Equal(new float[] { 0, 2, 4, 6, 8, 10 }, s.ToArray<float>());
            // base[1:, 1:].t(): offset 5, size (3, 2), stride (1, 4) -> [[5,9],[6,10],[7,11]].
            var c = Assert.IsType<Tensor>(d["corner_t"]);
            Assert.Equal(new long[] { 3, 2 }, c.Shape);
            Assert.Equal(new float[] { 5, 9, 6, 10, 7, 11 }, c.ToArray<float>());
            Assert.True(c.IsContiguous());
        }
        finally
        {
            TensorDisposal.DisposeTensors(root);
        }
    }

    [Fact]
    public void KeepsMetaAsInertDataAndPlaceholders()
    {
        var d = LoadDict("checkpoint.pth", out var root);
        try
        {
            var meta = Assert.IsType<PickleDict>(d["meta"]);
            Assert.Equal(7L, meta["epoch"]);
            Assert.Equal(0.25, meta["lr"]);
            Assert.Equal(BigInteger.Pow(2, 70), meta["big"]);
            Assert.Equal(-300000L, meta["negative"]);
            Assert.Equal("ckpt", meta["name"]);
            Assert.Equal(new object?[] { 1L, "two", null }, Assert.IsType<object?[]>(meta["tuple"]));
            Assert.Equal(new object?[] { true, false }, Assert.IsType<List<object?>>(meta["flags"]));
            Assert.Equal(new byte[] { 0x00, 0xff }, meta["raw"]); // protocol 2 writes bytes as _codecs.encode(..., 'latin1')
            var nested = Assert.IsType<PickleDict>(meta["nested"]);
            Assert.Equal(new object?[] { 1L, 2L }, Assert.IsType<List<object?>>(nested["a"]));

            // numpy.float64(0.5) = numpy.core.multiarray.scalar(numpy.dtype('f8', False, True), <8 bytes>).
            var np = Assert.IsType<PickleObject>(meta["np_scalar"]);
            Assert.Equal("numpy.core.multiarray.scalar", Assert.IsType<PickleGlobal>(np.Callable).FullName);
            var dtype = Assert.IsType<PickleObject>(np.Arguments[0]);
            Assert.Equal("numpy.dtype", dtype.Callable.ToString());
            Assert.Equal("f8", dtype.Arguments[0]);
            Assert.Equal(0.5, BitConverter.ToDouble(Assert.IsType<byte[]>(np.Arguments[1])));

            // A class instance: NEWOBJ of __main__.RunnerInfo, then BUILD with its __dict__.
            var inst = Assert.IsType<PickleObject>(meta["instance"]);
            Assert.Equal("__main__.RunnerInfo", inst.Callable.ToString());
            var state = Assert.IsType<PickleDict>(inst.State);
            Assert.Equal(1200L, state["iteration"]);
            Assert.Equal("not rebuilt", state["note"]);

            var sd = Assert.IsType<PickleDict>(d["state_dict"]);
            Assert.Equal(new object[] { "module.backbone.conv.weight", "module.backbone.bn.num_batches_tracked",
                "module.head.fc.weight", "module.head.fc.bias" }, sd.Keys);
            // nn.Parameter goes through _rebuild_parameter and is returned as its data.
            Assert.Equal(new[] { 0.5f, -0.5f }, Assert.IsType<Tensor>(sd["module.head.fc.weight"]).ToArray<float>());
            var versions = Assert.IsType<PickleDict>(Assert.IsType<PickleDict>(sd.Attributes)["_metadata"]);
            Assert.Equal(2L, Assert.IsType<PickleDict>(versions["backbone.bn"])["version"]);
        }
        finally
        {
            TensorDisposal.DisposeTensors(root);
        }
    }

    [Fact]
    public void DisposeTensorsReleasesEveryTensorInTheTree()
    {
        var d = LoadDict("views.pth", out var root);
        var tensors = d.Values.Cast<Tensor>().ToList();
        Assert.Equal(5, tensors.Count);
        TensorDisposal.DisposeTensors(root);
        Assert.All(tensors, t => Assert.True(t.IsDisposed));
    }

    [Fact]
    public void LoadedTensorsJoinTheCallersDisposeScope()
    {
        List<Tensor> tensors;
        using (torch.NewDisposeScope())
        {
            var d = LoadDict("views.pth", out _);
            tensors = d.Values.Cast<Tensor>().ToList();
        }
        Assert.All(tensors, t => Assert.True(t.IsDisposed));
    }

    [Fact]
    public void ReadsNewerRebuildV3WithUntypedStorageAndDTypeObject()
    {
        // _rebuild_tensor_v3(untyped 8-byte storage = int16 [5, -6, 7, -8], offset 1, size (3,), stride (1,), ..., torch.int16)
        var d = LoadDict("rebuild_v3.pth", out var root);
        try
        {
            var w = Assert.IsType<Tensor>(d["w"]);
            Assert.Equal(DType.Int16, w.DType);
            Assert.Equal(new short[] { -6, 7, -8 }, w.ToArray<short>());
        }
        finally
        {
            TensorDisposal.DisposeTensors(root);
        }
    }

    [Fact]
    public void ExpandedViewsAreCopiedButHugeExpansionsRefused()
    {
        // arange(3).expand(2, 3): stride (0, 1) over storage [0, 1, 2].
        var d = LoadDict("expanded.pth", out var root);
        Assert.Equal(new float[] { 0, 1, 2, 0, 1, 2 }, Assert.IsType<Tensor>(d["small"]).ToArray<float>());
        TensorDisposal.DisposeTensors(root);
        // zeros(1).expand(2^31): 8 GiB from one stored float.
        var ex = Assert.Throws<CheckpointFormatException>(() => PthFile.Load(TestFile("expanded_huge.pth")));
        Assert.Contains("expands 1 stored elements to 2147483648", ex.Message);
    }

    [Fact]
    public void LegacyFormatIsRefusedWithReSaveAdvice()
    {
        string path = TestFile("legacy.pth");
        var ex = Assert.Throws<CheckpointFormatException>(() => PthFile.Load(path));
        Assert.Contains(path, ex.Message);
        Assert.Contains("legacy", ex.Message);
        Assert.Contains("torch.save(torch.load(f), f2)", ex.Message);
        Assert.Throws<CheckpointFormatException>(() => StateDictLoader.LoadStateDict(path));
    }

    [Fact]
    public void BigEndianArchiveIsRefused()
    {
        var ex = Assert.Throws<CheckpointFormatException>(() => PthFile.Load(TestFile("big_endian.pth")));
        Assert.Contains("'big'-endian", ex.Message);
    }

    [Fact]
    public void NonArchivesAreRefused()
    {
        using var dir = new TempDir();
        string path = dir.File("text.pth");
        File.WriteAllText(path, "hello");
        Assert.Contains("not a torch.save zip archive", Assert.Throws<CheckpointFormatException>(() => PthFile.Load(path)).Message);
        File.WriteAllBytes(path, []);
        Assert.Contains("empty", Assert.Throws<CheckpointFormatException>(() => PthFile.Load(path)).Message);
    }

    [Fact]
    public void EveryTruncationOfASmallArchiveIsRefusedCleanly()
    {
        var bytes = File.ReadAllBytes(TestFile("views.pth"));
        using var dir = new TempDir();
        string path = dir.File("cut.pth");
        for (int len = 0; len < bytes.Length; len += 5)
        {
            File.WriteAllBytes(path, bytes[..len]);
            Assert.Throws<CheckpointFormatException>(() => PthFile.Load(path));
        }
    }

    [Fact]
    public void CorruptedPickleBytesNeverEscapeAsOtherExceptions()
    {
        // Flip single bytes inside data.pkl (stored uncompressed, so its bytes sit in the file as-is) and require
        // that every outcome is either a successful load or a CheckpointFormatException.
        var original = File.ReadAllBytes(TestFile("views.pth"));
        int start = IndexOf(original, [0x80, 0x02]);
        int end = IndexOf(original, "views/data/0"u8.ToArray(), start);
        Assert.True(start > 0 && end > start);
        using var dir = new TempDir();
        string path = dir.File("flip.pth");
        var rng = new Random(1234);
        int loaded = 0, refused = 0;
        for (int trial = 0; trial < 120; trial++)
        {
            var bytes = (byte[])original.Clone();
            int at = rng.Next(start, end);
            bytes[at] = (byte)rng.Next(256);
            File.WriteAllBytes(path, bytes);
            try
            {
                TensorDisposal.DisposeTensors(PthFile.Load(path));
                loaded++;
            }
            catch (CheckpointFormatException)
            {
                refused++;
            }
        }
        Assert.True(refused > 0 && loaded + refused == 120);
    }

    private static int IndexOf(byte[] haystack, byte[] needle, int from = 0)
    {
        for (int i = from; i <= haystack.Length - needle.Length; i++)
            if (haystack.AsSpan(i, needle.Length).SequenceEqual(needle)) return i;
        return -1;
    }
}
