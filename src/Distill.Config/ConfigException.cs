namespace Distill.Config;

/// <summary>
/// Every problem found while loading or binding a configuration, reported together so that one run shows the
/// user all the fixes to make. The message lists one error per line.
/// </summary>
public sealed class ConfigException : Exception
{
    public ConfigException(IReadOnlyList<ConfigError> errors)
        : base(Format(errors))
    {
        Errors = errors;
    }

    public IReadOnlyList<ConfigError> Errors { get; }

    private static string Format(IReadOnlyList<ConfigError> errors)
    {
        if (errors.Count == 0)
            throw new ArgumentException("a configuration exception needs at least one error", nameof(errors));
        if (errors.Count == 1)
            return errors[0].ToString();
        return $"{errors.Count} configuration errors:" + string.Concat(errors.Select(e => Environment.NewLine + "  " + e));
    }
}
