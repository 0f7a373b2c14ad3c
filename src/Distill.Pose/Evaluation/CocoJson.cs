using System.Text.Json;

namespace Distill.Pose.Evaluation;

/// <summary>
/// Typed reads from COCO-style JSON with errors that name the source, the record and the key.
/// </summary>
internal static class CocoJson
{
    public static JsonElement Property(JsonElement obj, string key, string where)
    {
        if (obj.ValueKind != JsonValueKind.Object)
            throw new FormatException($"{where}: expected a JSON object, found {obj.ValueKind}");
        if (!obj.TryGetProperty(key, out var value) || value.ValueKind == JsonValueKind.Null)
            throw new FormatException($"{where}: missing key '{key}'");
        return value;
    }

    public static long Int64(JsonElement obj, string key, string where)
    {
        var value = Property(obj, key, where);
        if (value.ValueKind == JsonValueKind.Number)
        {
            if (value.TryGetInt64(out long l)) return l;
            // Some writers emit integral ids as 12.0.
            double d = value.GetDouble();
            if (d == Math.Floor(d) && Math.Abs(d) < 9e15) return (long)d;
        }
        throw new FormatException($"{where}: key '{key}' must be an integer, found {value.GetRawText()}");
    }

    public static double Double(JsonElement obj, string key, string where)
    {
        var value = Property(obj, key, where);
        if (value.ValueKind != JsonValueKind.Number)
            throw new FormatException($"{where}: key '{key}' must be a number, found {value.GetRawText()}");
        return value.GetDouble();
    }

    public static bool Flag(JsonElement obj, string key, string where, bool fallback)
    {
        if (!obj.TryGetProperty(key, out var value) || value.ValueKind == JsonValueKind.Null) return fallback;
        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.Number => value.GetDouble() != 0,
            _ => throw new FormatException($"{where}: key '{key}' must be 0/1 or a boolean, found {value.GetRawText()}"),
        };
    }

    public static double[] Numbers(JsonElement obj, string key, string where)
    {
        var value = Property(obj, key, where);
        return Numbers(value, $"{where}: key '{key}'");
    }

    public static double[] Numbers(JsonElement array, string where)
    {
        if (array.ValueKind != JsonValueKind.Array)
            throw new FormatException($"{where} must be an array of numbers, found {array.ValueKind}");
        var result = new double[array.GetArrayLength()];
        int i = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number)
                throw new FormatException($"{where}: element {i} must be a number, found {item.GetRawText()}");
            result[i++] = item.GetDouble();
        }
        return result;
    }

    public static JsonDocument Open(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            return JsonDocument.Parse(stream, new JsonDocumentOptions { AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new FormatException($"{path}: invalid JSON at line {e.LineNumber + 1}: {e.Message}", e);
        }
    }
}
