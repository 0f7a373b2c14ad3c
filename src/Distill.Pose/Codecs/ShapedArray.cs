using Distill.Torch;

namespace Distill.Pose.Codecs;

/// <summary>
/// A dense float32 array in C order with its shape. Codecs exchange these instead of tensors so that target
/// encoding can run on data-loader threads without touching libtorch.
/// </summary>
public sealed class ShapedArray
{
    public ShapedArray(float[] data, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(shape);
        long n = 1;
        foreach (int s in shape)
        {
            if (s < 0) throw new ArgumentException($"negative dimension in shape [{string.Join(", ", shape)}]", nameof(shape));
            n *= s;
        }
        if (n != data.Length)
            throw new ArgumentException($"{data.Length} elements do not fill shape [{string.Join(", ", shape)}]", nameof(data));
        Data = data;
        Shape = (int[])shape.Clone();
    }

    /// <summary>The elements in C (row-major) order. Not copied: writes are visible to every holder.</summary>
    public float[] Data { get; }

    public int[] Shape { get; }

    public int Rank => Shape.Length;

    public int Length => Data.Length;

    /// <summary>Size of one dimension; a negative index counts from the end.</summary>
    public int Size(int dim) => Shape[dim < 0 ? dim + Shape.Length : dim];

    public static ShapedArray Zeros(params int[] shape)
    {
        long n = 1;
        foreach (int s in shape) n *= s;
        return new ShapedArray(new float[checked((int)n)], shape);
    }

    /// <summary>Same elements, another shape of the same size.</summary>
    public ShapedArray Reshape(params int[] shape) => new(Data, shape);

    public ShapedArray Clone() => new((float[])Data.Clone(), Shape);

    /// <summary>Copies a tensor of any floating dtype and device into managed memory (detached, as float32).</summary>
    public static ShapedArray FromTensor(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        using var detached = tensor.Detach();
        using var cpu = detached.To(DType.Float32, Device.Cpu);
        using var contiguous = cpu.Contiguous();
        var shape = Array.ConvertAll(contiguous.Shape, s => checked((int)s));
        return new ShapedArray(contiguous.ToArray<float>(), shape);
    }

    public Tensor ToTensor(Device? device = null) =>
        torch.FromArray(Data, Array.ConvertAll(Shape, s => (long)s), device);

    public override string ToString() => $"ShapedArray[{string.Join(", ", Shape)}]";
}
