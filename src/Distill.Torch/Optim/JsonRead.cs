using System.Text.Json.Nodes;

namespace Distill.Torch.Optim;

/// <summary>Typed reads from state-dict metadata that name the missing or malformed key.</summary>
internal static class JsonRead
{
    public static JsonNode Node(JsonObject o, string key, string where) =>
        o[key] ?? throw new FormatException($"{where}: missing '{key}'");

    public static double Double(JsonObject o, string key, string where) => Value<double>(o, key, where, "a number");

    public static long Long(JsonObject o, string key, string where) => Value<long>(o, key, where, "an integer");

    public static bool Bool(JsonObject o, string key, string where) => Value<bool>(o, key, where, "true or false");

    public static string String(JsonObject o, string key, string where) => Value<string>(o, key, where, "a string");

    public static JsonObject Object(JsonObject o, string key, string where) =>
        Node(o, key, where) as JsonObject ?? throw new FormatException($"{where}: '{key}' must be an object");

    public static JsonArray Array(JsonObject o, string key, string where) =>
        Node(o, key, where) as JsonArray ?? throw new FormatException($"{where}: '{key}' must be an array");

    private static T Value<T>(JsonObject o, string key, string where, string what)
    {
        var node = Node(o, key, where);
        try { return node.GetValue<T>(); }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            throw new FormatException($"{where}: '{key}' must be {what}, not {node.ToJsonString()}", e);
        }
    }
}
