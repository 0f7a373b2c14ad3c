using System.Text.Json;
using Distill.Pose.Codecs;
using Distill.Pose.Models;

namespace Distill.Onnx;

/// <summary>
/// The metadata_props an exported pose model carries, so a consumer can prepare inputs and read outputs without
/// the training config: keypoints, skeleton, flip indices, input size, normalisation and the codec.
/// </summary>
public static class OnnxMetadata
{
    public const string KeypointNames = "keypoint_names";
    public const string Skeleton = "skeleton";
    public const string FlipIndices = "flip_indices";
    public const string NumKeypoints = "num_keypoints";
    public const string InputSize = "input_size";
    public const string InputLayout = "input_layout";
    public const string ChannelOrder = "channel_order";
    public const string Mean = "mean";
    public const string Std = "std";
    public const string Codec = "codec";
    public const string Outputs = "outputs";
    public const string Architecture = "architecture";
    public const string KeypointSet = "keypoint_set";
    public const string Sigmas = "sigmas";
    public const string ShiftHeatmap = "shift_heatmap";

    /// <summary>Every problem with the caller's metadata for this model, empty when it is usable.</summary>
    public static IReadOnlyList<string> Validate(TopdownPoseEstimator model, OnnxExportOptions options)
    {
        var problems = new List<string>();
        long k = model.NumKeypoints;
        var pose = options.Pose;
        if (pose?.KeypointNames is { } names && names.Count != k)
            problems.Add($"metadata has {names.Count} keypoint names for a model of {k} keypoints");
        if (pose?.Skeleton is { } skeleton)
            foreach (var (a, b) in skeleton)
                if (a < 0 || a >= k || b < 0 || b >= k)
                    problems.Add($"skeleton link ({a}, {b}) refers to a keypoint outside 0..{k - 1}");
        if (pose?.Sigmas is { } sigmas && sigmas.Count != k)
            problems.Add($"metadata has {sigmas.Count} OKS sigmas for a model of {k} keypoints");
        if (pose?.Mean is { Count: not 3 } mean) problems.Add($"metadata mean has {mean.Count} values (3 RGB values expected)");
        if (pose?.Std is { Count: not 3 } std) problems.Add($"metadata std has {std.Count} values (3 RGB values expected)");
        if (options.Metadata is { } extra)
        {
            var reserved = ReservedKeys;
            foreach (var key in extra.Keys)
                if (reserved.Contains(key)) problems.Add($"metadata key '{key}' is written by the exporter and cannot be supplied");
        }
        return problems;
    }

    private static HashSet<string> ReservedKeys =>
        [KeypointNames, Skeleton, FlipIndices, NumKeypoints, InputSize, InputLayout, ChannelOrder, Mean, Std, Codec, Outputs, Architecture,
            KeypointSet, Sigmas, ShiftHeatmap];

    /// <summary>The key/value pairs for <paramref name="model"/>, in a stable order.</summary>
    public static List<KeyValuePair<string, string>> Build(TopdownPoseEstimator model, OnnxExportOptions options, IReadOnlyList<string> outputs)
    {
        var pose = options.Pose;
        var props = new List<KeyValuePair<string, string>>();
        void Add(string key, string value) => props.Add(new(key, value));
        Add(Architecture, $"{model.Backbone.TypeName}+{model.Head.TypeName}");
        Add(NumKeypoints, model.NumKeypoints.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (pose?.KeypointNames is { } names) Add(KeypointNames, JsonSerializer.Serialize(names));
        if (pose?.Skeleton is { } skeleton) Add(Skeleton, JsonSerializer.Serialize(skeleton.Select(s => new[] { s.From, s.To })));
        Add(FlipIndices, JsonSerializer.Serialize(model.FlipIndices));
        Add(InputSize, JsonSerializer.Serialize(new[] { model.InputSize.Width, model.InputSize.Height }));
        Add(InputLayout, "NCHW");
        Add(ChannelOrder, "RGB");
        Add(Mean, JsonSerializer.Serialize(pose?.Mean ?? model.Mean));
        Add(Std, JsonSerializer.Serialize(pose?.Std ?? model.Std));
        Add(Codec, CodecJson(model.Codec));
        Add(Outputs, string.Join(",", outputs));
        // Appended after the original keys, so files exported before them differ only by these entries.
        if (pose?.KeypointSet is { } setName) Add(KeypointSet, setName);
        if (pose?.Sigmas is { } sigmaList) Add(Sigmas, JsonSerializer.Serialize(sigmaList));
        if (model.ShiftHeatmap is bool shift) Add(ShiftHeatmap, shift ? "true" : "false");
        if (options.Metadata is { } extra)
            foreach (var (key, value) in extra) Add(key, value);
        return props;
    }

    /// <summary>
    /// The codec as a JSON object with its <c>type</c> and mmpose's parameter names, so
    /// <see cref="KeypointCodecs.Create(IReadOnlyDictionary{string, object?})"/> rebuilds it.
    /// </summary>
    public static string CodecJson(IKeypointCodec codec)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            w.WriteString("type", codec.TypeName);
            WritePair(w, "input_size", codec.InputSize.Width, codec.InputSize.Height);
            switch (codec)
            {
                case SimCCLabel s:
                    w.WriteStartArray("sigma");
                    w.WriteNumberValue(s.Sigma.X);
                    w.WriteNumberValue(s.Sigma.Y);
                    w.WriteEndArray();
                    w.WriteNumber("simcc_split_ratio", s.SplitRatio);
                    w.WriteBoolean("normalize", s.Normalize);
                    w.WriteString("smoothing_type", s.Smoothing == SimCCSmoothing.Gaussian ? "gaussian" : "standard");
                    w.WriteNumber("label_smooth_weight", s.LabelSmoothWeight);
                    break;
                case MSRAHeatmap m:
                    WritePair(w, "heatmap_size", m.HeatmapSize.Width, m.HeatmapSize.Height);
                    w.WriteNumber("sigma", m.Sigma);
                    w.WriteBoolean("unbiased", m.Unbiased);
                    w.WriteNumber("blur_kernel_size", m.BlurKernelSize);
                    break;
                case UDPHeatmap u:
                    WritePair(w, "heatmap_size", u.HeatmapSize.Width, u.HeatmapSize.Height);
                    w.WriteNumber("sigma", u.Sigma);
                    w.WriteNumber("blur_kernel_size", u.BlurKernelSize);
                    break;
            }
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    private static void WritePair(Utf8JsonWriter w, string name, int a, int b)
    {
        w.WriteStartArray(name);
        w.WriteNumberValue(a);
        w.WriteNumberValue(b);
        w.WriteEndArray();
    }
}
