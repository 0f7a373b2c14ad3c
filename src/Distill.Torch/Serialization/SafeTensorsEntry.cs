namespace Distill.Torch.Serialization;

/// <summary>One tensor of a safetensors header: its dtype, shape and byte range within the data section.</summary>
public sealed record SafeTensorsEntry(string Name, DType DType, long[] Shape, long Begin, long End)
{
    public long NBytes => End - Begin;

    public long NumEl
    {
        get
        {
            long n = 1;
            foreach (var s in Shape) n *= s;
            return n;
        }
    }
}
