namespace Distill.Torch.Serialization;

/// <summary>A storage of a torch.save archive: the zip member <c>data/&lt;Key&gt;</c> holding NumEl elements.</summary>
internal sealed record StorageRef(string Key, DType DType, long NumEl, bool Untyped);

/// <summary>
/// A tensor described by a pickle but not yet read: a strided view (sizes, strides and offset in elements) of one
/// storage. Keeping the description separate lets a state-dict loader read only the tensors it returns.
/// </summary>
internal sealed record StoredTensor(StorageRef Storage, DType DType, long StorageOffset, long[] Shape, long[] Strides)
{
    public long NumEl
    {
        get
        {
            long n = 1;
            foreach (var s in Shape) n = checked(n * s);
            return n;
        }
    }

    /// <summary>Element index one past the last element the view touches (its storage offset when empty).</summary>
    public long EndElement
    {
        get
        {
            if (NumEl == 0) return StorageOffset;
            long last = StorageOffset;
            for (int i = 0; i < Shape.Length; i++) last = checked(last + (Shape[i] - 1) * Strides[i]);
            return checked(last + 1);
        }
    }

    public override string ToString() =>
        $"tensor {DType} [{string.Join(", ", Shape)}] from storage '{Storage.Key}'";
}
