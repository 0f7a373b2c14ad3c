using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Distill.Onnx.Protos;
using Distill.Torch;
using Google.Protobuf;

namespace Distill.Onnx.Graph;

/// <summary>Tensor values as ONNX stores them: raw little-endian bytes in row-major order.</summary>
public static class OnnxTensors
{
    public static TensorProto Float(string name, ReadOnlySpan<float> data, ReadOnlySpan<long> dims)
    {
        CheckCount(name, data.Length, dims);
        byte[] raw = new byte[data.Length * sizeof(float)];
        if (BitConverter.IsLittleEndian) MemoryMarshal.AsBytes(data).CopyTo(raw);
        else for (int i = 0; i < data.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan(4 * i), data[i]);
        return Make(name, TensorProto.Types.DataType.Float, raw, dims);
    }

    public static TensorProto Int64(string name, ReadOnlySpan<long> data, ReadOnlySpan<long> dims)
    {
        CheckCount(name, data.Length, dims);
        byte[] raw = new byte[data.Length * sizeof(long)];
        if (BitConverter.IsLittleEndian) MemoryMarshal.AsBytes(data).CopyTo(raw);
        else for (int i = 0; i < data.Length; i++) BinaryPrimitives.WriteInt64LittleEndian(raw.AsSpan(8 * i), data[i]);
        return Make(name, TensorProto.Types.DataType.Int64, raw, dims);
    }

    /// <summary>A float32 copy of <paramref name="tensor"/> (any dtype or device); the tensor is not modified.</summary>
    public static TensorProto FromTensor(string name, Tensor tensor)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = Autograd.NoGrad();
        var t = tensor.Detach().To(DType.Float32, Device.Cpu).Contiguous();
        return Float(name, t.ToArray<float>(), t.Shape);
    }

    /// <summary>The values of a float32 tensor proto written by <see cref="Float"/>.</summary>
    public static float[] ReadFloats(TensorProto tensor)
    {
        if (tensor.DataType != (int)TensorProto.Types.DataType.Float)
            throw new ArgumentException($"tensor '{tensor.Name}' is not float32 (data type {tensor.DataType})");
        var raw = tensor.RawData.Span;
        var values = new float[raw.Length / sizeof(float)];
        for (int i = 0; i < values.Length; i++) values[i] = BinaryPrimitives.ReadSingleLittleEndian(raw[(4 * i)..]);
        return values;
    }

    /// <summary>The values of an int64 tensor proto written by <see cref="Int64"/>.</summary>
    public static long[] ReadInt64s(TensorProto tensor)
    {
        if (tensor.DataType != (int)TensorProto.Types.DataType.Int64)
            throw new ArgumentException($"tensor '{tensor.Name}' is not int64 (data type {tensor.DataType})");
        var raw = tensor.RawData.Span;
        var values = new long[raw.Length / sizeof(long)];
        for (int i = 0; i < values.Length; i++) values[i] = BinaryPrimitives.ReadInt64LittleEndian(raw[(8 * i)..]);
        return values;
    }

    private static TensorProto Make(string name, TensorProto.Types.DataType type, byte[] raw, ReadOnlySpan<long> dims)
    {
        var t = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(raw) };
        foreach (var d in dims) t.Dims.Add(d);
        return t;
    }

    private static void CheckCount(string name, int count, ReadOnlySpan<long> dims)
    {
        long expected = 1;
        foreach (var d in dims)
        {
            if (d < 0) throw new ArgumentException($"tensor '{name}' has a negative dimension");
            expected *= d;
        }
        if (expected != count) throw new ArgumentException($"tensor '{name}': {count} values do not fill shape [{string.Join(", ", dims.ToArray())}]");
    }
}
