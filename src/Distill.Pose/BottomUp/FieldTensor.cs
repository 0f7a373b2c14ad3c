using Distill.Torch;

namespace Distill.Pose.BottomUp;

/// <summary>
/// A (fields, components, height, width) block of floats in row-major order: an encoder's target or one image's
/// head output as the decoder reads it. Plain arrays, so encoders can run in loader threads without libtorch.
/// </summary>
public sealed class FieldTensor
{
    public FieldTensor(int fields, int components, int height, int width, float[]? data = null)
    {
        if (fields < 1 || components < 1 || height < 1 || width < 1)
            throw new ArgumentException($"field shape ({fields}, {components}, {height}, {width}) must be positive");
        long n = (long)fields * components * height * width;
        if (data is not null && data.Length != n)
            throw new ArgumentException($"{data.Length} values for shape ({fields}, {components}, {height}, {width})", nameof(data));
        Fields = fields;
        Components = components;
        Height = height;
        Width = width;
        Data = data ?? new float[n];
    }

    public int Fields { get; }
    public int Components { get; }
    public int Height { get; }
    public int Width { get; }
    public float[] Data { get; }

    public long[] Shape => [Fields, Components, Height, Width];

    /// <summary>Offset of (field, component, 0, 0).</summary>
    public int Plane(int field, int component) => (field * Components + component) * Height * Width;

    public float this[int field, int component, int y, int x]
    {
        get => Data[Plane(field, component) + y * Width + x];
        set => Data[Plane(field, component) + y * Width + x] = value;
    }

    public Span<float> PlaneSpan(int field, int component) => Data.AsSpan(Plane(field, component), Height * Width);

    public FieldTensor Clone() => new(Fields, Components, Height, Width, (float[])Data.Clone());

    /// <summary>A CPU float tensor of shape (fields, components, height, width).</summary>
    public Tensor ToTensor() => torch.FromArray(Data, Shape);

    /// <summary>Stacks same-shaped fields into a (batch, fields, components, height, width) tensor.</summary>
    public static Tensor Stack(IReadOnlyList<FieldTensor> items)
    {
        if (items.Count == 0) throw new ArgumentException("nothing to stack", nameof(items));
        var first = items[0];
        var data = new float[items.Count * first.Data.Length];
        for (int i = 0; i < items.Count; i++)
        {
            if (!items[i].Shape.SequenceEqual(first.Shape))
                throw new ArgumentException($"field {i} has shape ({string.Join(", ", items[i].Shape)}), field 0 ({string.Join(", ", first.Shape)})");
            items[i].Data.CopyTo(data, i * first.Data.Length);
        }
        return torch.FromArray(data, [items.Count, .. first.Shape]);
    }

    /// <summary>Reads a (fields, components, height, width) float tensor, or one image of a batch of them.</summary>
    public static FieldTensor FromTensor(Tensor t)
    {
        var shape = t.Shape;
        if (shape.Length != 4) throw new ArgumentException($"a field tensor has 4 dimensions (fields, components, height, width), got ({string.Join(", ", shape)})");
        using var cpu = t.Detach().To(DType.Float32, Device.Cpu).Contiguous();
        return new FieldTensor((int)shape[0], (int)shape[1], (int)shape[2], (int)shape[3], cpu.ToArray<float>());
    }
}
