namespace Distill.Config;

/// <summary>
/// A node of a configuration tree. Trees are immutable: merging bases and applying overrides builds new nodes,
/// so a node shared through a YAML alias can never be changed behind another key's back.
/// </summary>
public abstract class ConfigNode
{
    private protected ConfigNode(ConfigLocation location)
    {
        Location = location;
    }

    /// <summary>Where the node was written (for a mapping or list, its first character).</summary>
    public ConfigLocation Location { get; }

    /// <summary>How the node's kind reads in an error message: "a mapping", "a list", "a string '...'".</summary>
    public abstract string Describe();

    /// <summary>The same content with every location replaced, used to attribute an override's value to it.</summary>
    internal abstract ConfigNode Relocate(ConfigLocation location);
}
