using System.Text.Json;

namespace Distill.Pose.Synthetic;

/// <summary>Number output for the annotation files: fixed decimals, so files compare byte for byte.</summary>
internal static class JsonNumbers
{
    /// <summary>Rounded to <paramref name="decimals"/> places; adding 0.0 turns a negative zero into zero.</summary>
    public static double Round(double v, int decimals = 2) => Math.Round(v, decimals, MidpointRounding.AwayFromZero) + 0.0;

    public static void Write(Utf8JsonWriter w, double v, int decimals = 2) => w.WriteNumberValue(Round(v, decimals));

    public static void WriteArray(Utf8JsonWriter w, string name, params double[] values)
    {
        w.WriteStartArray(name);
        foreach (var v in values) Write(w, v);
        w.WriteEndArray();
    }
}
