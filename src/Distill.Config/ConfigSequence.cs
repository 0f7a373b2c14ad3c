namespace Distill.Config;

/// <summary>A YAML list. Merging replaces lists whole: a list in a derived file is never appended to its base's.</summary>
public sealed class ConfigSequence : ConfigNode
{
    private readonly ConfigNode[] _items;

    internal ConfigSequence(IEnumerable<ConfigNode> items, bool isFlow, ConfigLocation location)
        : base(location)
    {
        _items = items.ToArray();
        IsFlow = isFlow;
    }

    public IReadOnlyList<ConfigNode> Items => _items;

    public int Count => _items.Length;

    public ConfigNode this[int index] => _items[index];

    /// <summary>Written as <c>[a, b]</c> in the source; kept for lists of scalars when writing back.</summary>
    internal bool IsFlow { get; }

    internal ConfigSequence WithItem(int index, ConfigNode item)
    {
        var items = (ConfigNode[])_items.Clone();
        items[index] = item;
        return new ConfigSequence(items, IsFlow, Location);
    }

    public override string Describe() => "a list";

    internal override ConfigNode Relocate(ConfigLocation location) =>
        new ConfigSequence(_items.Select(i => i.Relocate(location)), IsFlow, location);
}
