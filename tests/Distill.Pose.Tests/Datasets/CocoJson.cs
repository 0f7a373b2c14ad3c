using System.Text.Json.Nodes;
using Distill.TestSupport;

namespace Distill.Pose.Tests.Datasets;

/// <summary>Variants of the real test_coco.json for error and filter tests: the real file with one edit.</summary>
internal static class CocoJson
{
    public static string RealPath => SharedData.Data("coco", "test_coco.json");

    public static JsonObject Load() => JsonNode.Parse(File.ReadAllText(RealPath))!.AsObject();

    public static JsonObject Annotation(JsonObject root, long id) =>
        root["annotations"]!.AsArray().Select(a => a!.AsObject()).Single(a => (long)a["id"]! == id);

    /// <summary>Writes the edited file next to copies of nothing: image paths then resolve to the temp folder.</summary>
    public static string Save(TempFiles tmp, JsonObject root, string name = "edited.json") => tmp.Write(name, root.ToJsonString());
}
