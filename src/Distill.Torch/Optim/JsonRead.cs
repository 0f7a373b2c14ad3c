using System.Text.Json.Nodes;

namespace Distill.Torch.Optim;

/// <summary>
/// Typed reads from state-dict metadata that name the missing or malformed key. Numbers are accepted whatever
/// their in-memory type (a JsonObject built in code holds ints, longs or doubles; one parsed from text holds
/// JSON elements).
/// </summary>
internal static class JsonRead
{
    public static JsonNode Node(JsonObject o, string key, string where) =>
        o[key] ?? throw new FormatException($"{where}: missing '{key}'");

    public static double Double(JsonObject o, string key, string where)
    {
        var node = Node(o, key, where);
        return TryDouble(node, out double v) ? v : throw Malformed(node, key, where, "a number");
    }

    public static long Long(JsonObject o, string key, string where)
    {
        var node = Node(o, key, where);
        return TryLong(node, out long v) ? v : throw Malformed(node, key, where, "an integer");
    }

    public static bool Bool(JsonObject o, string key, string where)
    {
        var node = Node(o, key, where);
        return node is JsonValue jv && jv.TryGetValue(out bool v) ? v : throw Malformed(node, key, where, "true or false");
    }

    public static string String(JsonObject o, string key, string where)
    {
        var node = Node(o, key, where);
        return node is JsonValue jv && jv.TryGetValue(out string? v) ? v : throw Malformed(node, key, where, "a string");
    }

    public static JsonObject Object(JsonObject o, string key, string where) =>
        Node(o, key, where) as JsonObject ?? throw new FormatException($"{where}: '{key}' must be an object");

    public static JsonArray Array(JsonObject o, string key, string where) =>
        Node(o, key, where) as JsonArray ?? throw new FormatException($"{where}: '{key}' must be an array");

    public static bool TryDouble(JsonNode? node, out double value)
    {
        value = 0;
        if (node is not JsonValue jv) return false;
        if (jv.TryGetValue(out double d)) { value = d; return true; }
        if (jv.TryGetValue(out long l)) { value = l; return true; }
        if (jv.TryGetValue(out int i)) { value = i; return true; }
        if (jv.TryGetValue(out float f)) { value = f; return true; }
        return false;
    }

    public static bool TryLong(JsonNode? node, out long value)
    {
        value = 0;
        if (node is not JsonValue jv) return false;
        if (jv.TryGetValue(out long l)) { value = l; return true; }
        if (jv.TryGetValue(out int i)) { value = i; return true; }
        return false;
    }

    private static FormatException Malformed(JsonNode node, string key, string where, string what) =>
        new($"{where}: '{key}' must be {what}, not {node.ToJsonString()}");
}
