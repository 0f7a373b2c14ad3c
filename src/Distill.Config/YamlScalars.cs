using System.Globalization;
using System.Text.RegularExpressions;

namespace Distill.Config;

/// <summary>
/// Resolution of plain scalars to booleans and numbers following the YAML 1.2 core schema (the one PyYAML's
/// successors use): <c>true/false</c> only (no <c>yes/on</c>), decimal, <c>0x</c> and <c>0o</c> integers,
/// <c>1e-3</c>-style floats, <c>.inf</c> and <c>.nan</c>. Quoted scalars are always strings.
/// </summary>
internal static partial class YamlScalars
{
    private const string BoolTag = "tag:yaml.org,2002:bool";
    private const string IntTag = "tag:yaml.org,2002:int";
    private const string FloatTag = "tag:yaml.org,2002:float";

    public static bool TryBool(ConfigScalar scalar, out bool value)
    {
        value = false;
        if (!IsUntypedOr(scalar, BoolTag))
            return false;
        switch (scalar.Value)
        {
            case "true" or "True" or "TRUE":
                value = true;
                return true;
            case "false" or "False" or "FALSE":
                return true;
            default:
                return false;
        }
    }

    /// <summary>True when the scalar is written as an integer; <paramref name="fits"/> says whether it fits a long.</summary>
    public static bool TryInteger(ConfigScalar scalar, out long value, out bool fits)
    {
        value = 0;
        fits = false;
        if (!IsUntypedOr(scalar, IntTag))
            return false;
        var text = scalar.Value;
        if (DecimalInteger().IsMatch(text))
        {
            fits = long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
            return true;
        }
        if (text.StartsWith("0x", StringComparison.Ordinal) && HexDigits().IsMatch(text[2..]))
        {
            fits = ulong.TryParse(text[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var u) && u <= long.MaxValue;
            value = fits ? (long)u : 0;
            return true;
        }
        if (text.StartsWith("0o", StringComparison.Ordinal) && OctalDigits().IsMatch(text[2..]))
        {
            try
            {
                value = Convert.ToInt64(text[2..], 8);
                fits = value >= 0;
            }
            catch (OverflowException)
            {
                fits = false;
            }
            return true;
        }
        return false;
    }

    /// <summary>True when the scalar is written as a number (integers included).</summary>
    public static bool TryFloat(ConfigScalar scalar, out double value)
    {
        value = 0;
        if (TryInteger(scalar, out var integer, out var fits))
        {
            value = fits ? integer : double.Parse(scalar.Value, CultureInfo.InvariantCulture);
            return true;
        }
        if (!IsUntypedOr(scalar, FloatTag))
            return false;
        var text = scalar.Value;
        if (DecimalFloat().IsMatch(text))
            return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
        switch (text.TrimStart('+'))
        {
            case ".inf" or ".Inf" or ".INF":
                value = double.PositiveInfinity;
                return true;
            case "-.inf" or "-.Inf" or "-.INF":
                value = double.NegativeInfinity;
                return true;
        }
        if (text is ".nan" or ".NaN" or ".NAN")
        {
            value = double.NaN;
            return true;
        }
        return false;
    }

    private static bool IsUntypedOr(ConfigScalar scalar, string tag) =>
        scalar.Tag == tag || scalar.IsPlain;

    [GeneratedRegex("^[-+]?[0-9]+$")]
    private static partial Regex DecimalInteger();

    [GeneratedRegex("^[0-9a-fA-F]+$")]
    private static partial Regex HexDigits();

    [GeneratedRegex("^[0-7]+$")]
    private static partial Regex OctalDigits();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex DecimalFloat();
}
