using System.Text.Json;
using Distill.Pose.Codecs;
using Distill.TestSupport;

namespace Distill.Pose.Tests.Codecs;

/// <summary>Reads the mmpose codec fixtures (codecs.json and its float32 little-endian .bin files).</summary>
internal static class CodecFixtures
{
    private static readonly Lazy<JsonDocument> Document = new(() =>
        JsonDocument.Parse(File.ReadAllText(SharedData.Fixture("codecs", "codecs.json"))));

    public static JsonElement Case(string name) =>
        Document.Value.RootElement.TryGetProperty(name, out var c)
            ? c
            : throw new KeyNotFoundException($"codecs.json has no case '{name}'");

    /// <summary>The keypoints of instance 0 as K (x, y) pairs, and its visibilities.</summary>
    public static (float[] Keypoints, float[] Visibility) Inputs(JsonElement c)
    {
        var kps = c.GetProperty("keypoints_in")[0].EnumerateArray()
            .SelectMany(p => p.EnumerateArray().Select(v => (float)Number(v))).ToArray();
        var vis = c.GetProperty("keypoints_visible")[0].EnumerateArray().Select(v => (float)Number(v)).ToArray();
        return (kps, vis);
    }

    public static float[] Weights(JsonElement c) =>
        c.GetProperty("keypoint_weights")[0].EnumerateArray().Select(v => (float)Number(v)).ToArray();

    /// <summary>Reads one encoded array of a variant ("clean" or "noisy"), checking its size against the JSON shape.</summary>
    public static ShapedArray Encoded(JsonElement c, string variant, string key, string folder = "codecs")
    {
        var f = c.GetProperty(variant).GetProperty("files").GetProperty(key);
        var shape = f.GetProperty("shape").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        return ReadBin(SharedData.Fixture(folder, f.GetProperty("file").GetString()!), shape);
    }

    public static ShapedArray ReadBin(string path, int[] shape)
    {
        var bytes = File.ReadAllBytes(path);
        long n = shape.Aggregate(1L, (a, s) => a * s);
        if (bytes.Length != n * 4)
            throw new InvalidDataException($"{path}: {bytes.Length} bytes, expected {n * 4} for shape [{string.Join(", ", shape)}]");
        var data = new float[n];
        for (int i = 0; i < data.Length; i++) data[i] = BitConverter.ToSingle(bytes, 4 * i); // little-endian host
        return new ShapedArray(data, shape);
    }

    /// <summary>(N, K, 2) keypoints and (N, K) scores recorded as decoded by mmpose.</summary>
    public static (double[,,] Keypoints, double[,] Scores) Decoded(JsonElement decoded)
    {
        var kps = decoded.GetProperty("keypoints");
        int n = kps.GetArrayLength(), k = kps[0].GetArrayLength();
        var keypoints = new double[n, k, 2];
        var scores = new double[n, k];
        for (int b = 0; b < n; b++)
            for (int j = 0; j < k; j++)
            {
                keypoints[b, j, 0] = Number(kps[b][j][0]);
                keypoints[b, j, 1] = Number(kps[b][j][1]);
                scores[b, j] = Number(decoded.GetProperty("scores")[b][j]);
            }
        return (keypoints, scores);
    }

    /// <summary>A JSON number, or the strings "NaN" / "Infinity" that the fixture writer uses for non-finite values.</summary>
    public static double Number(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.Number => v.GetDouble(),
        JsonValueKind.String => v.GetString() switch
        {
            "NaN" => double.NaN,
            "Infinity" => double.PositiveInfinity,
            "-Infinity" => double.NegativeInfinity,
            var s => throw new InvalidDataException($"not a number: '{s}'"),
        },
        _ => throw new InvalidDataException($"not a number: {v.GetRawText()}"),
    };

    /// <summary>The case's codec_cfg as the dictionary a config front end would pass to the registry.</summary>
    public static IReadOnlyDictionary<string, object?> Config(JsonElement cfg) =>
        cfg.EnumerateObject().ToDictionary(p => p.Name, p => (object?)p.Value.Clone());
}
