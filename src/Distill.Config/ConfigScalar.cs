using YamlDotNet.Core;

namespace Distill.Config;

/// <summary>
/// A scalar exactly as written: its text, whether it was quoted and its explicit tag. Typing happens at binding
/// time following the YAML 1.2 core schema, so a quoted "0.5" stays a string and writes back quoted.
/// </summary>
public sealed class ConfigScalar : ConfigNode
{
    internal const string StrTag = "tag:yaml.org,2002:str";
    internal const string NullTag = "tag:yaml.org,2002:null";

    internal ConfigScalar(string value, ScalarStyle style, string? tag, ConfigLocation location)
        : base(location)
    {
        Value = value;
        Style = style == ScalarStyle.Any ? ScalarStyle.Plain : style;
        Tag = tag;
    }

    /// <summary>A string scalar, quoted when its plain form would read as null, a boolean or a number.</summary>
    public static ConfigScalar String(string value, ConfigLocation location)
    {
        var plain = new ConfigScalar(value, ScalarStyle.Plain, null, location);
        var needsQuotes = plain.IsNull || YamlScalars.TryBool(plain, out _) || YamlScalars.TryFloat(plain, out _);
        return needsQuotes ? new ConfigScalar(value, ScalarStyle.SingleQuoted, null, location) : plain;
    }

    /// <summary>The scalar's text ("" for an empty value).</summary>
    public string Value { get; }

    /// <summary>The explicit tag in its long form (e.g. tag:yaml.org,2002:str), or null.</summary>
    public string? Tag { get; }

    /// <summary>True for an unquoted, untagged scalar: only those resolve to numbers, booleans and null.</summary>
    public bool IsPlain => Style == ScalarStyle.Plain && Tag is null;

    /// <summary>True for an explicit tag of null, or a plain empty, <c>~</c> or <c>null</c> value.</summary>
    public bool IsNull => Tag == NullTag || (IsPlain && Value is "" or "~" or "null" or "Null" or "NULL");

    internal ScalarStyle Style { get; }

    public override string Describe()
    {
        if (IsNull)
            return "null";
        return IsPlain ? $"'{Value}'" : $"the quoted string '{Value}'";
    }

    internal override ConfigNode Relocate(ConfigLocation location) => new ConfigScalar(Value, Style, Tag, location);

    public override string ToString() => Value;
}
