using System.Collections;
using System.Globalization;
using System.Text.Json;

namespace Distill.Pose.Codecs;

/// <summary>
/// Typed, strict access to a codec's config parameters (mmpose's snake_case names). Values may be CLR numbers,
/// bools and strings, lists of them, or <see cref="JsonElement"/>s, so JSON and YAML front ends can pass what they
/// parsed. Every error names the codec type and the key; <see cref="EnsureAllUsed"/> rejects unknown keys.
/// </summary>
public sealed class CodecParameters
{
    private readonly string _type;
    private readonly Dictionary<string, object?> _values;
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    public CodecParameters(string type, IReadOnlyDictionary<string, object?> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        _type = type;
        _values = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (key, value) in values)
            if (key != "type") _values[key] = value;
    }

    public string Type => _type;

    public bool Contains(string key) => _values.ContainsKey(key);

    public double GetDouble(string key, double? defaultValue = null) =>
        Read(key, defaultValue, v => ToDouble(key, v));

    public int GetInt(string key, int? defaultValue = null) => Read(key, defaultValue, v =>
    {
        double d = ToDouble(key, v);
        if (d != Math.Floor(d) || d < int.MinValue || d > int.MaxValue) throw Bad(key, v, "an integer");
        return (int)d;
    });

    public bool GetBool(string key, bool? defaultValue = null) => Read(key, defaultValue, v => v switch
    {
        bool b => b,
        JsonElement { ValueKind: JsonValueKind.True } => true,
        JsonElement { ValueKind: JsonValueKind.False } => false,
        string s when bool.TryParse(s, out bool b) => b,
        JsonElement { ValueKind: JsonValueKind.String } e when bool.TryParse(e.GetString(), out bool b) => b,
        _ => throw Bad(key, v, "true or false"),
    });

    public string GetString(string key, string? defaultValue = null) => Read(key, defaultValue, v => v switch
    {
        string s => s,
        JsonElement { ValueKind: JsonValueKind.String } e => e.GetString()!,
        _ => throw Bad(key, v, "a string"),
    });

    /// <summary>A [width, height] pair of positive integers, as mmpose's input_size and heatmap_size.</summary>
    public (int Width, int Height) GetSize(string key, (int, int)? defaultValue = null) => Read(key, defaultValue, v =>
    {
        var items = ToList(key, v, 2, 2);
        double w = ToDouble(key, items[0]), h = ToDouble(key, items[1]);
        if (w != Math.Floor(w) || h != Math.Floor(h) || w <= 0 || h <= 0 || w > int.MaxValue || h > int.MaxValue)
            throw Bad(key, v, "a [width, height] pair of positive integers");
        return ((int)w, (int)h);
    });

    /// <summary>One number used for both axes, or an [x, y] pair.</summary>
    public (double X, double Y) GetPair(string key, (double, double)? defaultValue = null) => Read(key, defaultValue, v =>
    {
        if (IsList(v))
        {
            var items = ToList(key, v, 1, 2);
            double x = ToDouble(key, items[0]);
            return (x, items.Count == 2 ? ToDouble(key, items[1]) : x);
        }
        double d = ToDouble(key, v);
        return (d, d);
    });

    /// <summary>Throws when the config holds a key no reader asked for (a typo or an unsupported option).</summary>
    public void EnsureAllUsed()
    {
        var unknown = _values.Keys.Where(k => !_used.Contains(k)).Order(StringComparer.Ordinal).ToList();
        if (unknown.Count > 0)
            throw new ArgumentException(
                $"codec {_type}: unknown or unsupported parameter(s) {string.Join(", ", unknown.Select(k => $"'{k}'"))}; accepted: {string.Join(", ", _used.Order(StringComparer.Ordinal))}");
    }

    private T Read<T>(string key, T? defaultValue, Func<object, T> convert) where T : struct
    {
        _used.Add(key);
        if (_values.TryGetValue(key, out var v) && v is not null && !(v is JsonElement { ValueKind: JsonValueKind.Null }))
            return convert(v);
        return defaultValue ?? throw new ArgumentException($"codec {_type}: missing required parameter '{key}'");
    }

    private string Read(string key, string? defaultValue, Func<object, string> convert)
    {
        _used.Add(key);
        if (_values.TryGetValue(key, out var v) && v is not null && !(v is JsonElement { ValueKind: JsonValueKind.Null }))
            return convert(v);
        return defaultValue ?? throw new ArgumentException($"codec {_type}: missing required parameter '{key}'");
    }

    private double ToDouble(string key, object v) => v switch
    {
        double d => d,
        float f => f,
        int i => i,
        long l => l,
        decimal m => (double)m,
        short s => s,
        byte b => b,
        string s when double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) => d,
        JsonElement { ValueKind: JsonValueKind.Number } e => e.GetDouble(),
        JsonElement { ValueKind: JsonValueKind.String } e when double.TryParse(e.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out double d) => d,
        _ => throw Bad(key, v, "a number"),
    };

    private static bool IsList(object v) =>
        v is JsonElement { ValueKind: JsonValueKind.Array } || (v is IEnumerable && v is not string);

    private List<object> ToList(string key, object v, int min, int max)
    {
        List<object> items;
        if (v is JsonElement { ValueKind: JsonValueKind.Array } e) items = e.EnumerateArray().Select(x => (object)x).ToList();
        else if (v is IEnumerable seq && v is not string) items = seq.Cast<object>().ToList();
        else throw Bad(key, v, min == max ? $"a list of {min} values" : $"a list of {min} to {max} values");
        if (items.Count < min || items.Count > max)
            throw Bad(key, v, min == max ? $"a list of {min} values" : $"a list of {min} to {max} values");
        return items;
    }

    private ArgumentException Bad(string key, object v, string expected) =>
        new($"codec {_type}: parameter '{key}' must be {expected}, got {Describe(v)}");

    private static string Describe(object v) => v switch
    {
        JsonElement e => e.GetRawText(),
        string s => $"'{s}'",
        IEnumerable seq => "[" + string.Join(", ", seq.Cast<object>().Select(Describe)) + "]",
        _ => Convert.ToString(v, CultureInfo.InvariantCulture) ?? v.GetType().Name,
    };
}
