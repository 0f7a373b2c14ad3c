namespace Distill.Config;

/// <summary>
/// Where a configuration value came from: a position in a YAML file (1-based line and column), or a
/// command-line override (<c>--set key=value</c>). Errors print it first, as compilers do.
/// </summary>
public readonly record struct ConfigLocation
{
    private ConfigLocation(string? file, int line, int column, string? overrideText)
    {
        File = file;
        Line = line;
        Column = column;
        Override = overrideText;
    }

    /// <summary>The file as it should be shown to the user, or null for an override.</summary>
    public string? File { get; }

    public int Line { get; }

    public int Column { get; }

    /// <summary>The <c>key=value</c> text of the override that produced the value, or null for a file.</summary>
    public string? Override { get; }

    public bool IsOverride => Override is not null;

    public static ConfigLocation InFile(string file, int line, int column) => new(file, line, column, null);

    public static ConfigLocation FromOverride(string keyEqualsValue) => new(null, 0, 0, keyEqualsValue);

    public override string ToString() => Override is not null ? $"--set {Override}" : $"{File}:{Line}:{Column}";
}
