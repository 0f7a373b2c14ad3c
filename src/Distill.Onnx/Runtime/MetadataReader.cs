using System.Text.Json;

namespace Distill.Onnx.Runtime;

/// <summary>
/// Reads the metadata entries `distill export` writes into a model file; a missing or malformed entry is an error
/// naming the file and the key, with <paramref name="what"/> saying which kind of model lacked it and what export writes.
/// </summary>
internal sealed class MetadataReader(IReadOnlyDictionary<string, string> entries, string path, string what)
{
    public string Need(string key) => entries.TryGetValue(key, out var v) && v.Length > 0 ? v
        : throw new InvalidDataException($"{path}: {what.Replace("{key}", key, StringComparison.Ordinal)}");

    public T Parse<T>(string key)
    {
        string text = Need(key);
        try
        {
            return JsonSerializer.Deserialize<T>(text) ?? throw new JsonException("null");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: metadata '{key}' is not valid ({e.Message}): {text}", e);
        }
    }
}
