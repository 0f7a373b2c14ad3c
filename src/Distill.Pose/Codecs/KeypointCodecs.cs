using System.Collections.Concurrent;
using System.Text.Json;

namespace Distill.Pose.Codecs;

/// <summary>
/// The codec registry: maps config type names (mmpose's: <c>SimCCLabel</c>, <c>MSRAHeatmap</c>,
/// <c>UDPHeatmap</c>, <c>RegressionLabel</c>) to constructors that read mmpose's parameter names. Parameters a
/// config leaves out take mmpose's defaults.
/// </summary>
public static class KeypointCodecs
{
    private static readonly ConcurrentDictionary<string, Func<CodecParameters, IKeypointCodec>> Factories = new(StringComparer.Ordinal)
    {
        [SimCCLabel.Name] = CreateSimCC,
        [MSRAHeatmap.Name] = p => new MSRAHeatmap(
            p.GetSize("input_size"), p.GetSize("heatmap_size"), p.GetDouble("sigma"),
            p.GetBool("unbiased", false), p.GetInt("blur_kernel_size", 11)),
        [UDPHeatmap.Name] = CreateUdp,
        [RegressionLabel.Name] = p => new RegressionLabel(p.GetSize("input_size")),
    };

    /// <summary>Registered type names.</summary>
    public static IReadOnlyCollection<string> Types => Factories.Keys.Order(StringComparer.Ordinal).ToList();

    /// <summary>Adds or replaces a codec type. The factory reads its parameters from <see cref="CodecParameters"/>.</summary>
    public static void Register(string type, Func<CodecParameters, IKeypointCodec> factory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(type);
        ArgumentNullException.ThrowIfNull(factory);
        Factories[type] = factory;
    }

    /// <summary>Builds a codec from a config whose <c>type</c> key names it.</summary>
    public static IKeypointCodec Create(IReadOnlyDictionary<string, object?> config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (!config.TryGetValue("type", out var type) || type is null)
            throw new ArgumentException("codec config has no 'type' key (one of: " + string.Join(", ", Types) + ")");
        string name = type switch
        {
            string s => s,
            JsonElement { ValueKind: JsonValueKind.String } e => e.GetString()!,
            _ => throw new ArgumentException($"codec config 'type' must be a string, got {type}"),
        };
        return Create(name, config);
    }

    /// <summary>Builds a codec of <paramref name="type"/>; a <c>type</c> key in the parameters is ignored.</summary>
    public static IKeypointCodec Create(string type, IReadOnlyDictionary<string, object?> parameters)
    {
        ArgumentNullException.ThrowIfNull(type);
        if (!Factories.TryGetValue(type, out var factory))
            throw new ArgumentException($"unknown codec type '{type}' (known: {string.Join(", ", Types)})");
        var p = new CodecParameters(type, parameters);
        IKeypointCodec codec;
        try
        {
            codec = factory(p);
        }
        catch (ArgumentException e) when (!e.Message.StartsWith($"codec {type}", StringComparison.Ordinal))
        {
            throw new ArgumentException($"codec {type}: {e.Message}", e);
        }
        p.EnsureAllUsed();
        return codec;
    }

    private static IKeypointCodec CreateSimCC(CodecParameters p)
    {
        string smoothingName = p.GetString("smoothing_type", "gaussian");
        var smoothing = smoothingName switch
        {
            "gaussian" => SimCCSmoothing.Gaussian,
            "standard" => SimCCSmoothing.Standard,
            _ => throw new ArgumentException($"codec {p.Type}: parameter 'smoothing_type' must be 'gaussian' or 'standard', got '{smoothingName}'"),
        };
        // Options mmpose has that this codec does not implement are accepted only at their off value.
        if (p.GetBool("use_dark", false))
            throw new ArgumentException($"codec {p.Type}: 'use_dark' = true (DARK refinement of SimCC) is not supported");
        if (p.GetBool("decode_visibility", false))
            throw new ArgumentException($"codec {p.Type}: 'decode_visibility' = true is not supported");
        p.GetDouble("decode_beta", 150.0);
        return new SimCCLabel(
            p.GetSize("input_size"), p.GetPair("sigma", (6.0, 6.0)), p.GetDouble("simcc_split_ratio", 2.0),
            p.GetBool("normalize", true), smoothing, p.GetDouble("label_smooth_weight", 0.0));
    }

    private static IKeypointCodec CreateUdp(CodecParameters p)
    {
        string heatmapType = p.GetString("heatmap_type", "gaussian");
        if (heatmapType != "gaussian")
            throw new ArgumentException($"codec {p.Type}: heatmap_type '{heatmapType}' is not supported (only 'gaussian')");
        p.GetDouble("radius_factor", 0.0546875); // used by the 'combined' type only
        return new UDPHeatmap(p.GetSize("input_size"), p.GetSize("heatmap_size"), p.GetDouble("sigma", 2.0), p.GetInt("blur_kernel_size", 11));
    }
}
