namespace Distill.Torch.Serialization;

/// <summary>
/// A Python dict or <c>collections.OrderedDict</c> from a pickle, in insertion order. Keys are strings, numbers,
/// tuples (<c>object?[]</c>, compared element-wise) or placeholders; a Python <c>None</c> key is stored as
/// <see cref="NoneKey"/> because .NET dictionaries take no null keys.
/// </summary>
public sealed class PickleDict : OrderedDictionary<object, object?>
{
    /// <summary>Stands for a <c>None</c> key.</summary>
    public static readonly object NoneKey = new NoneKeyMarker();

    public PickleDict() : base(PickleKeyComparer.Instance) { }

    /// <summary>
    /// Attributes set by BUILD, for example the <c>_metadata</c> (per-module version numbers) that PyTorch attaches
    /// to a state-dict OrderedDict; null when the pickle set none.
    /// </summary>
    public object? Attributes { get; internal set; }

    /// <summary>True when every key is a string; state dicts and checkpoints are.</summary>
    public bool HasStringKeys
    {
        get
        {
            foreach (var k in Keys)
                if (k is not string) return false;
            return true;
        }
    }

    private sealed class NoneKeyMarker
    {
        public override string ToString() => "None";
    }
}

/// <summary>Python-like key equality: tuples element-wise, everything else by Equals.</summary>
internal sealed class PickleKeyComparer : IEqualityComparer<object>
{
    public static readonly PickleKeyComparer Instance = new();

    public new bool Equals(object? x, object? y)
    {
        if (x is object?[] a && y is object?[] b)
        {
            if (a.Length != b.Length) return false;
            for (int i = 0; i < a.Length; i++)
                if (!(a[i] is null ? b[i] is null : b[i] is not null && Equals(a[i], b[i]))) return false;
            return true;
        }
        return object.Equals(x, y);
    }

    public int GetHashCode(object obj)
    {
        if (obj is object?[] t)
        {
            var h = new HashCode();
            foreach (var e in t) h.Add(e is null ? 0 : GetHashCode(e));
            return h.ToHashCode();
        }
        return obj.GetHashCode();
    }
}
