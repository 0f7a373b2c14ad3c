namespace Distill.Config;

/// <summary>One problem found in a configuration: where, which key (dotted path, list items by index), and what.</summary>
public sealed record ConfigError(ConfigLocation Location, string Path, string Message)
{
    public override string ToString() =>
        Path.Length == 0 ? $"{Location}: {Message}" : $"{Location}: {Path}: {Message}";
}
