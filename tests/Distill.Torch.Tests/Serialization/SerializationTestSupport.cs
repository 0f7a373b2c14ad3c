using System.Runtime.InteropServices;
using Distill.Torch;

namespace Distill.Torch.Tests.Serialization;

/// <summary>Paths of the committed checkpoint files, scratch folders and exact tensor comparison.</summary>
internal static class SerializationTestSupport
{
    public static string TestFile(string name) => Path.Combine(AppContext.BaseDirectory, "TestFiles", name);

    /// <summary>Bytes of a hand-written pickle: each character U+0000..U+00FF is one byte.</summary>
    public static byte[] Latin1(string s) => s.Select(c => checked((byte)c)).ToArray();

    /// <summary>A fresh folder under the system temp directory, removed by Dispose.</summary>
    public sealed class TempDir : IDisposable
    {
        public TempDir() => Directory.CreateDirectory(Root);

        public string Root { get; } = Path.Combine(Path.GetTempPath(), "distill-ser-" + Guid.NewGuid().ToString("N"));

        public string File(string name) => Path.Combine(Root, name);

        public void Dispose()
        {
            try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>The tensor's elements in C order as raw little-endian bytes.</summary>
    public static byte[] RawBytes(Tensor t) => t.DType switch
    {
        DType.Float32 => MemoryMarshal.AsBytes<float>(t.ToArray<float>()).ToArray(),
        DType.Float64 => MemoryMarshal.AsBytes<double>(t.ToArray<double>()).ToArray(),
        DType.Float16 => MemoryMarshal.AsBytes<Half>(t.ToArray<Half>()).ToArray(),
        DType.BFloat16 => MemoryMarshal.AsBytes<BFloat16>(t.ToArray<BFloat16>()).ToArray(),
        DType.Int64 => MemoryMarshal.AsBytes<long>(t.ToArray<long>()).ToArray(),
        DType.Int32 => MemoryMarshal.AsBytes<int>(t.ToArray<int>()).ToArray(),
        DType.Int16 => MemoryMarshal.AsBytes<short>(t.ToArray<short>()).ToArray(),
        DType.Int8 => MemoryMarshal.AsBytes<sbyte>(t.ToArray<sbyte>()).ToArray(),
        DType.UInt8 => t.ToArray<byte>(),
        DType.Bool => MemoryMarshal.AsBytes<bool>(t.ToArray<bool>()).ToArray(),
        _ => throw new NotSupportedException(t.DType.ToString()),
    };

    public static void AssertIdentical(Tensor expected, Tensor actual, string key)
    {
        Assert.True(expected.DType == actual.DType, $"{key}: dtype {actual.DType} != {expected.DType}");
        Assert.True(expected.Shape.SequenceEqual(actual.Shape), $"{key}: shape differs");
        Assert.True(RawBytes(expected).AsSpan().SequenceEqual(RawBytes(actual)), $"{key}: bytes differ");
    }
}
