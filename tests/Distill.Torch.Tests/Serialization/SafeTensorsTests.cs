using System.Buffers.Binary;
using System.Text;
using Distill.Torch;
using Distill.Torch.Serialization;
using static Distill.Torch.Tests.Serialization.SerializationTestSupport;

namespace Distill.Torch.Tests.Serialization;

public class SafeTensorsTests
{
    [Fact]
    public void RoundTripsEveryDTypeInOrderWithMetadata()
    {
        using var dir = new TempDir();
        string path = dir.File("all.safetensors");
        using var f32 = torch.FromArray(new[] { 1.5f, -2f, 3.25f, 0f, 1e-30f, -7f }, [2, 3]);
        using var f32t = f32.Transpose(0, 1); // non-contiguous: written in C order of the transposed view
        using var f64 = torch.From(0.1, -1e300);
        using var f16 = torch.From((Half)1.5f, (Half)(-65504f));
        using var bf16 = torch.From(BFloat16.FromSingle(3.5f), BFloat16.FromSingle(-0.15625f));
        using var i64 = torch.FromArray(new[] { -1234567890123L }, []);
        using var i32 = torch.From(int.MaxValue, int.MinValue);
        using var i16 = torch.From((short)-32768, (short)7);
        using var i8 = torch.From((sbyte)-128, (sbyte)127);
        using var u8 = torch.From((byte)0, (byte)255);
        using var b = torch.From(true, false, true);
        using var empty = torch.Zeros([0, 4]);
        var tensors = new List<KeyValuePair<string, Tensor>>
        {
            new("z.first", f32t), new("f64", f64), new("f16", f16), new("bf16", bf16), new("i64", i64), new("i32", i32),
            new("i16", i16), new("i8", i8), new("u8", u8), new("bool", b), new("empty", empty), new("a.last", f32),
        };
        var meta = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "x+y <é>" };

        SafeTensors.Save(path, tensors, meta);
        var loaded = SafeTensors.Load(path, out var loadedMeta);
        try
        {
            Assert.Equal(tensors.Select(kv => kv.Key), loaded.Keys); // file order = given order, not sorted
            foreach (var (name, t) in tensors) AssertIdentical(t, loaded[name], name);
            // Transposing [[1.5,-2,3.25],[0,1e-30,-7]] gives [[1.5,0],[-2,1e-30],[3.25,-7]].
            Assert.Equal(new[] { 1.5f, 0f, -2f, 1e-30f, 3.25f, -7f }, loaded["z.first"].ToArray<float>());
            Assert.Equal(new long[] { 3, 2 }, loaded["z.first"].Shape);
            Assert.Empty(loaded["i64"].Shape);
            Assert.Equal(-1234567890123L, loaded["i64"].ItemLong());
            Assert.Equal(meta, loadedMeta);
        }
        finally
        {
            loaded.DisposeTensors();
        }

        // Layout: 8-byte length, header padded with spaces to a multiple of 8, then the bytes in the given order.
        var bytes = File.ReadAllBytes(path);
        long n = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0, (8 + n) % 8);
        string header = Encoding.UTF8.GetString(bytes, 8, (int)n);
        Assert.StartsWith("{\"__metadata__\":{\"format\":\"pt\"", header);
        // Sizes: 6*4 + 2*8 + 2*2 + 2*2 + 8 + 2*4 + 2*2 + 2 + 2 + 3 + 0 + 6*4 = 99 data bytes.
        Assert.Equal(8 + n + 99, bytes.Length);
        var h = SafeTensors.ReadHeader(path);
        Assert.Equal(new[] { 0L, 24L }, new[] { h.Tensors[0].Begin, h.Tensors[0].End });
        Assert.Equal(75L, h.Tensors[^1].Begin); // 99 - 24
        Assert.Equal(DType.BFloat16, h.Tensors[3].DType);
        Assert.Equal(8 + n, h.DataStart);
    }

    [Fact]
    public void SaveReplacesAtomicallyAndLeavesNoTemporaryFiles()
    {
        using var dir = new TempDir();
        string path = dir.File("m.safetensors");
        using var a = torch.From(1f, 2f);
        using var b = torch.From(3f);
        SafeTensors.Save(path, [new("a", a)]);
        var first = File.ReadAllBytes(path);

        // A rejected save (duplicate name) leaves the old file as it was.
        Assert.Throws<ArgumentException>(() => SafeTensors.Save(path, [new("a", a), new("a", b)]));
        Assert.Equal(first, File.ReadAllBytes(path));

        SafeTensors.Save(path, [new("b", b)]);
        var loaded = SafeTensors.Load(path);
        Assert.Equal(new[] { "b" }, loaded.Keys);
        Assert.Equal(new[] { 3f }, loaded["b"].ToArray<float>());
        loaded.DisposeTensors();
        Assert.Equal(new[] { "m.safetensors" }, Directory.GetFiles(dir.Root).Select(Path.GetFileName));
    }

    // ---- hostile and broken files ------------------------------------------------------------------------------

    private static string Write(TempDir dir, string json, int dataBytes, ulong? lengthField = null)
    {
        string path = dir.File("bad.safetensors");
        var header = Encoding.UTF8.GetBytes(json);
        var file = new byte[8 + header.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(file, lengthField ?? (ulong)header.Length);
        header.CopyTo(file, 8);
        File.WriteAllBytes(path, file);
        return path;
    }

    private static CheckpointFormatException Rejects(string path, params string[] fragments)
    {
        var ex = Assert.Throws<CheckpointFormatException>(() => SafeTensors.Load(path));
        Assert.Contains(path, ex.Message);
        foreach (var f in fragments) Assert.Contains(f, ex.Message);
        return ex;
    }

    [Fact]
    public void AcceptsAWellFormedHandWrittenFile()
    {
        using var dir = new TempDir();
        // Two F32 tensors of 2 and 1 elements: bytes [0, 8) and [8, 12); data written as zeros.
        var path = Write(dir, """{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}""", 12);
        var t = SafeTensors.Load(path);
        Assert.Equal(new[] { "w", "b" }, t.Keys);
        Assert.Equal(new[] { 0f, 0f }, t["w"].ToArray<float>());
        t.DisposeTensors();
    }

    [Fact]
    public void RejectsHeaderLengthBeyondFile()
    {
        using var dir = new TempDir();
        var path = Write(dir, """{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", 4, lengthField: 1UL << 40);
        Rejects(path, "header length 1099511627776 exceeds");
    }

    [Fact]
    public void RejectsHeaderLongerThanTheCapEvenWhenTheFileIsThatLarge()
    {
        using var dir = new TempDir();
        string path = dir.File("huge.safetensors");
        using (var fs = new FileStream(path, FileMode.CreateNew))
        {
            var len = new byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(len, 150UL << 20); // 150 MiB header claimed
            fs.Write(len);
            fs.SetLength(8 + (200L << 20)); // sparse: costs no disk space
        }
        Rejects(path, "exceeds the 104857600-byte limit");
    }

    [Fact]
    public void RejectsTruncatedDataNamingTheTensor()
    {
        using var dir = new TempDir();
        // 'b' needs bytes [8, 12) but only 10 data bytes are present.
        var path = Write(dir, """{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}""", 10);
        Rejects(path, "tensor 'b'", "beyond the 10-byte data section");
    }

    [Fact]
    public void RejectsOverlappingOffsets()
    {
        using var dir = new TempDir();
        var path = Write(dir, """{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", 12);
        Rejects(path, "tensor 'b'", "overlaps tensor 'w'");
    }

    [Fact]
    public void RejectsOffsetsThatDisagreeWithShape()
    {
        using var dir = new TempDir();
        // shape [3] of F32 needs 12 bytes, offsets give 8.
        var path = Write(dir, """{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", 8);
        Rejects(path, "tensor 'w'", "span 8 bytes", "needs 12");
    }

    [Fact]
    public void RejectsUnknownDType()
    {
        using var dir = new TempDir();
        var path = Write(dir, """{"w":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}}""", 16);
        Rejects(path, "tensor 'w'", "'F128'");
    }

    [Fact]
    public void RejectsBadJson()
    {
        using var dir = new TempDir();
        var path = Write(dir, """{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}""", 4); // missing brace
        Rejects(path, "not valid JSON");
    }

    [Fact]
    public void RejectsHugeShapesWithoutAllocating()
    {
        using var dir = new TempDir();
        // 2^32 * 2^32 elements overflow 64 bits.
        var path = Write(dir, """{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}""", 4);
        Rejects(path, "tensor 'w'", "overflows");
        // 2^40 F32 elements = 2^42 bytes is representable but lies far beyond the 4-byte data section.
        path = Write(dir, """{"w":{"dtype":"F32","shape":[1099511627776],"data_offsets":[0,4398046511104]}}""", 4);
        Rejects(path, "tensor 'w'", "beyond the 4-byte data section");
    }

    [Fact]
    public void RejectsNegativeDimensionsGapsAndTrailingBytes()
    {
        using var dir = new TempDir();
        Rejects(Write(dir, """{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}""", 4), "tensor 'w'", "non-negative");
        Rejects(Write(dir, """{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8), "tensor 'w'", "gap");
        Rejects(Write(dir, """{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", 6), "2 bytes after the last tensor");
        Rejects(Write(dir, """{"w":{"dtype":"F32","shape":[1],"data_offsets":["0",4]}}""", 4), "tensor 'w'", "data_offsets");
        Rejects(Write(dir, """[1,2]""", 0), "not a JSON object");
    }

    [Fact]
    public void RejectsFilesShorterThanTheLengthField()
    {
        using var dir = new TempDir();
        string path = dir.File("tiny.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);
        Rejects(path, "too short");
    }
}
