using Distill.Torch.Vision;

namespace Distill.Pose.Data;

/// <summary>
/// A small least-recently-used cache of decoded images keyed by path, shared by loader threads. Concurrent requests
/// for one path decode it once. Cached images are shared: callers must not modify them (the pipeline never does).
/// </summary>
public sealed class ImageCache
{
    private readonly int _capacity;
    private readonly Func<string, Image> _read;
    private readonly Dictionary<string, LinkedListNode<(string Path, Lazy<Image> Image)>> _map = new(StringComparer.Ordinal);
    private readonly LinkedList<(string Path, Lazy<Image> Image)> _lru = new();
    private readonly object _gate = new();

    public ImageCache(int capacity, Func<string, Image>? read = null)
    {
        if (capacity <= 0) throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "cache capacity must be positive");
        _capacity = capacity;
        _read = read ?? Image.Read;
    }

    public int Capacity => _capacity;

    public int Count
    {
        get
        {
            lock (_gate) return _map.Count;
        }
    }

    public Image Get(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        Lazy<Image> entry;
        lock (_gate)
        {
            if (_map.TryGetValue(path, out var node))
            {
                _lru.Remove(node);
                _lru.AddFirst(node);
                entry = node.Value.Image;
            }
            else
            {
                entry = new Lazy<Image>(() => _read(path), LazyThreadSafetyMode.ExecutionAndPublication);
                _map[path] = _lru.AddFirst((path, entry));
                while (_map.Count > _capacity)
                {
                    var last = _lru.Last!;
                    _lru.RemoveLast();
                    _map.Remove(last.Value.Path);
                }
            }
        }
        try
        {
            return entry.Value;
        }
        catch
        {
            // A failed decode is not cached: the next request tries again and reports its own error.
            lock (_gate)
            {
                if (_map.TryGetValue(path, out var node) && ReferenceEquals(node.Value.Image, entry))
                {
                    _lru.Remove(node);
                    _map.Remove(path);
                }
            }
            throw;
        }
    }
}
