using System.Text.Json;
using Distill.Pose.Codecs;
using Distill.TestSupport;

namespace Distill.Pose.Tests.Codecs;

/// <summary>Reads a model fixture folder's fixture.json and its stored output tensors.</summary>
internal static class ModelFixtures
{
    public static JsonElement Load(string model) =>
        JsonDocument.Parse(File.ReadAllText(SharedData.Fixture(model, "fixture.json"))).RootElement;

    public static ShapedArray Tensor(JsonElement fixture, string model, string name)
    {
        var t = fixture.GetProperty("tensors").GetProperty(name);
        var shape = t.GetProperty("shape").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        return CodecFixtures.ReadBin(SharedData.Fixture(model, t.GetProperty("file").GetString()!), shape);
    }
}
