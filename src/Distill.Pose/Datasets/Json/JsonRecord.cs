using System.Globalization;
using System.Text.Json;

namespace Distill.Pose.Datasets.Json;

/// <summary>
/// Typed, checked access to the fields of one JSON record. Every failure is a <see cref="DatasetException"/> that
/// names the file, the record (section, index, id) and the key, and says what was expected and what was found.
/// </summary>
internal readonly struct JsonRecord
{
    public JsonElement Element { get; }
    public string File { get; }
    public string Label { get; }
    public int Index { get; }

    public JsonRecord(string file, string section, int index, JsonElement element, string idKey = "id")
    {
        File = file;
        Index = index;
        Element = element;
        string label = $"{section}[{index}]";
        if (element.ValueKind == JsonValueKind.Object && element.TryGetProperty(idKey, out var id)
            && id.ValueKind is JsonValueKind.Number or JsonValueKind.String)
            label += $" ({idKey} {id.ToString()})";
        Label = label;
        if (element.ValueKind != JsonValueKind.Object)
            throw Error(null, $"expected an object, found {Describe(element)}");
    }

    public DatasetException Error(string? key, string detail) => new(File, Label, Index, key, detail);

    /// <summary>True when the field is present and not null.</summary>
    public bool Has(string key) => Element.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null;

    public JsonElement Get(string key)
    {
        if (!Element.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null)
            throw Error(key, "missing field");
        return v;
    }

    public string String(string key)
    {
        var v = Get(key);
        if (v.ValueKind != JsonValueKind.String) throw Error(key, $"expected a string, found {Describe(v)}");
        return v.GetString()!;
    }

    public double Number(string key) => ToNumber(Get(key), key);

    public double? OptionalNumber(string key) => Has(key) ? Number(key) : null;

    public long Long(string key)
    {
        var v = Get(key);
        if (v.ValueKind == JsonValueKind.Number)
        {
            if (v.TryGetInt64(out long l)) return l;
            if (v.TryGetDouble(out double d) && d == Math.Floor(d) && Math.Abs(d) < 9e15) return (long)d;
        }
        throw Error(key, $"expected an integer, found {Describe(v)}");
    }

    public long? OptionalLong(string key) => Has(key) ? Long(key) : null;

    /// <summary>A 0/1 or true/false flag.</summary>
    public bool? OptionalFlag(string key)
    {
        if (!Has(key)) return null;
        var v = Get(key);
        if (v.ValueKind == JsonValueKind.True) return true;
        if (v.ValueKind == JsonValueKind.False) return false;
        return Long(key) != 0;
    }

    public JsonElement Array(string key)
    {
        var v = Get(key);
        if (v.ValueKind != JsonValueKind.Array) throw Error(key, $"expected an array, found {Describe(v)}");
        return v;
    }

    /// <summary>A flat array of numbers; <paramref name="length"/> &lt; 0 accepts any length.</summary>
    public double[] Numbers(string key, int length)
    {
        var arr = Array(key);
        int n = arr.GetArrayLength();
        if (length >= 0 && n != length) throw Error(key, $"expected {length} numbers, found {n}");
        var result = new double[n];
        int i = 0;
        foreach (var item in arr.EnumerateArray())
        {
            result[i] = ToNumber(item, $"{key}[{i}]");
            i++;
        }
        return result;
    }

    /// <summary>An array of <paramref name="rows"/> arrays of <paramref name="cols"/> numbers, flattened row-major.</summary>
    public double[] NumberRows(string key, int rows, int cols)
    {
        var arr = Array(key);
        if (arr.GetArrayLength() != rows) throw Error(key, $"expected {rows} entries of {cols} numbers, found {arr.GetArrayLength()} entries");
        var result = new double[rows * cols];
        int r = 0;
        foreach (var row in arr.EnumerateArray())
        {
            if (row.ValueKind != JsonValueKind.Array || row.GetArrayLength() != cols)
                throw Error($"{key}[{r}]", $"expected {cols} numbers, found {Describe(row)}");
            int c = 0;
            foreach (var item in row.EnumerateArray())
            {
                result[r * cols + c] = ToNumber(item, $"{key}[{r}][{c}]");
                c++;
            }
            r++;
        }
        return result;
    }

    private double ToNumber(JsonElement v, string key)
    {
        switch (v.ValueKind)
        {
            case JsonValueKind.Number:
                if (v.TryGetDouble(out double d)) return d;
                throw Error(key, $"number {v.GetRawText()} is out of range");
            case JsonValueKind.String:
                string s = v.GetString()!;
                if (s is JsonFile.NaNSentinel or "NaN") return double.NaN;
                if (s is JsonFile.PositiveInfinitySentinel or "Infinity") return double.PositiveInfinity;
                if (s is JsonFile.NegativeInfinitySentinel or "-Infinity") return double.NegativeInfinity;
                break;
        }
        throw Error(key, $"expected a number, found {Describe(v)}");
    }

    public static string Describe(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.String => $"the string \"{Truncate(v.GetString()!)}\"",
        JsonValueKind.Number => $"the number {v.GetRawText()}",
        JsonValueKind.Array => $"an array of {v.GetArrayLength()}",
        JsonValueKind.Object => "an object",
        JsonValueKind.True or JsonValueKind.False => $"the boolean {v.GetRawText()}",
        JsonValueKind.Null => "null",
        _ => v.ValueKind.ToString(),
    };

    private static string Truncate(string s) => s.Length <= 40 ? s : s[..40] + "...";

    public static string Format(double d) => d.ToString("R", CultureInfo.InvariantCulture);
}
