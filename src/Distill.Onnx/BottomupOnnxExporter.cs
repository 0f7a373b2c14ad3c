using System.Globalization;
using System.Text.Json;
using Distill.Onnx.Emitters;
using Distill.Onnx.Graph;
using Distill.Onnx.Protos;
using Distill.Pose.BottomUp;
using Distill.Pose.BottomUp.Decoding;
using Distill.Pose.BottomUp.Heads;
using Distill.Torch;
using Google.Protobuf;

namespace Distill.Onnx;

/// <summary>
/// Writes a bottom-up (CIF/CAF) pose model as an ONNX graph: input "input" (N, 3, H, W) float32, normalised, at the
/// model's input size; outputs "cif" (N, K, 5, h, w) = [spread, confidence, x, y, scale] and "caf" (N, L, 8, h, w) =
/// [spread, confidence, x1, y1, x2, y2, s1, s2], activated as the model's eval mode gives them (positions and scales
/// in field cells; the decoder multiplies by the stride). The metadata carries what the CIF-CAF decoder needs: stride,
/// CAF skeleton, score weights, thresholds, keypoint names and sigmas, besides normalisation and input size.
/// </summary>
public static class BottomupOnnxExporter
{
    public const string PoseModel = "pose_model";
    public const string BottomupKind = "bottomup";
    public const string Stride = "stride";
    public const string CafSkeleton = "caf_skeleton";
    public const string ScoreWeights = "score_weights";
    public const string Decoder = "decoder";
    public const string FieldComponents = "field_components";

    public static readonly string[] CifComponents = ["spread", "confidence", "x", "y", "scale"];
    public static readonly string[] CafComponents = ["spread", "confidence", "x1", "y1", "x2", "y2", "s1", "s2"];

    /// <summary>Builds the ONNX model in memory (the model is only read; one forward pass at the input size finds the field size).</summary>
    public static ModelProto Export(BottomupPoseEstimator model, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new OnnxExportOptions();
        Check(model, options);

        using var scope = torch.NewDisposeScope();
        using var noGrad = Autograd.NoGrad();
        var (w, h) = model.InputSize;
        var field = FieldSize(model);
        var graph = new OnnxGraph(options.Opset, "distill_bottomup_pose");
        var context = new OnnxEmitContext(graph, options, model.InputSize);
        OnnxDim batch = options.StaticBatch is int n ? OnnxDim.Of(n) : OnnxDim.Named(OnnxExporter.BatchSymbol);
        graph.AddInput(OnnxExporter.InputName, TensorProto.Types.DataType.Float, batch, 3, h, w);

        var features = context.Emit(model.Backbone, "backbone", [OnnxExporter.InputName]);
        var head = model.Head;
        string selected;
        if (head.Input == FeatureInput.ResizeConcat)
        {
            selected = ResizeConcat(graph, features, "head");
        }
        else
        {
            int i = head.InIndex < 0 ? features.Count + head.InIndex : head.InIndex;
            if (i < 0 || i >= features.Count) throw new OnnxExportException($"head in_index {head.InIndex}: the backbone has {features.Count} outputs");
            selected = features[i];
        }
        var cif = CompositeFieldEmitters.Emit(context, head.Cif, "head.cif", selected, field);
        var caf = CompositeFieldEmitters.Emit(context, head.Caf, "head.caf", selected, field);
        graph.AddOutput(cif, CifCafHead.CifName, TensorProto.Types.DataType.Float, [batch, head.Cif.Fields, head.Cif.Components, field.Height, field.Width]);
        graph.AddOutput(caf, CifCafHead.CafName, TensorProto.Types.DataType.Float, [batch, head.Caf.Fields, head.Caf.Components, field.Height, field.Width]);

        return OnnxExporter.Package(graph, options.Opset, Metadata(model, options));
    }

    /// <summary>Exports to <paramref name="path"/> through a temporary file renamed into place.</summary>
    public static void ExportToFile(BottomupPoseEstimator model, string path, OnnxExportOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        OnnxExporter.WriteAtomically(Export(model, options), path);
    }

    /// <summary>Every reason the model cannot be exported with these options, listed at once.</summary>
    public static void Check(BottomupPoseEstimator model, OnnxExportOptions options)
    {
        var problems = new List<string>(options.Validate());
        if (options.Decode) problems.Add("--decode: a bottom-up model's decoder (CIF-CAF) runs outside the graph; export without --decode");
        foreach (var (name, module) in model.Backbone.NamedModules())
        {
            var emitter = OnnxEmitters.Find(module.GetType());
            string path = name.Length == 0 ? "backbone" : "backbone." + name;
            if (emitter is null)
            {
                problems.Add($"module '{path}' of type {OnnxEmitters.TypeName(module.GetType())} has no ONNX emitter");
                continue;
            }
            if (emitter.CheckSupported(module, options) is string reason)
                problems.Add($"module '{path}' of type {OnnxEmitters.TypeName(module.GetType())}: {reason}");
        }
        var pose = options.Pose;
        if (pose?.KeypointNames is { } names && names.Count != model.NumKeypoints)
            problems.Add($"metadata has {names.Count} keypoint names for a model of {model.NumKeypoints} keypoints");
        if (problems.Count > 0)
            throw new OnnxExportException("cannot export the model to ONNX:" + Environment.NewLine + string.Join(Environment.NewLine, problems.Select(p => "  - " + p)));
    }

    /// <summary>
    /// The head's resize_concat: every feature map after the first resized to the first one's exact size and all of them
    /// concatenated along channels. Resize in linear mode with pytorch_half_pixel coordinates is libtorch's bilinear
    /// interpolation without corner alignment (source = (i + 0.5) in / out - 0.5, clamped at the border), and the
    /// target size is read from the first map's shape, so odd sizes (49 * 2 != 97) come out as libtorch's do.
    /// </summary>
    public static string ResizeConcat(OnnxGraph graph, IReadOnlyList<string> features, string path)
    {
        if (features.Count == 0) throw new OnnxExportException("resize_concat: the backbone has no outputs");
        if (features.Count == 1) return features[0];
        var target = graph.Node("Slice", path, [graph.Node("Shape", path, [features[0]]), graph.Int64s(2), graph.Int64s(4)]);
        var parts = new List<string> { features[0] };
        for (int j = 1; j < features.Count; j++)
        {
            var leading = graph.Node("Slice", path, [graph.Node("Shape", path, [features[j]]), graph.Int64s(0), graph.Int64s(2)]);
            var size = graph.Node("Concat", path, [leading, target], OnnxAttribute.Int("axis", 0));
            parts.Add(graph.Node("Resize", path, [features[j], "", "", size],
                OnnxAttribute.String("mode", "linear"),
                OnnxAttribute.String("coordinate_transformation_mode", "pytorch_half_pixel")));
        }
        return graph.Node("Concat", path, parts, OnnxAttribute.Int("axis", 1));
    }

    /// <summary>The fields' (height, width) at the model's input size, from one forward pass in eval mode.</summary>
    public static (long Height, long Width) FieldSize(BottomupPoseEstimator model)
    {
        bool training = model.Training;
        model.Eval();
        try
        {
            using var scope = torch.NewDisposeScope();
            using var noGrad = Autograd.NoGrad();
            var (w, h) = model.InputSize;
            var outputs = model.Forward(torch.Zeros([1, 3, h, w]));
            var cif = outputs[CifCafHead.CifName];
            return (cif.Size(3), cif.Size(4));
        }
        finally
        {
            if (training) model.Train();
        }
    }

    /// <summary>The metadata_props, in a stable order.</summary>
    public static List<KeyValuePair<string, string>> Metadata(BottomupPoseEstimator model, OnnxExportOptions options)
    {
        var pose = options.Pose;
        var meta = model.Meta;
        var d = model.DecoderOptions;
        var props = new List<KeyValuePair<string, string>>();
        void Add(string key, string value) => props.Add(new(key, value));
        Add(PoseModel, BottomupKind);
        Add(OnnxMetadata.Architecture, $"{model.Backbone.TypeName}+{model.Head.TypeName}");
        Add(OnnxMetadata.NumKeypoints, meta.NumKeypoints.ToString(CultureInfo.InvariantCulture));
        Add(OnnxMetadata.KeypointNames, JsonSerializer.Serialize(pose?.KeypointNames ?? meta.KeypointNames));
        if (pose?.Skeleton is { } skeleton) Add(OnnxMetadata.Skeleton, JsonSerializer.Serialize(skeleton.Select(s => new[] { s.From, s.To })));
        Add(OnnxMetadata.FlipIndices, JsonSerializer.Serialize(meta.KeypointFlip));
        Add(OnnxMetadata.InputSize, JsonSerializer.Serialize(new[] { model.InputSize.Width, model.InputSize.Height }));
        Add(OnnxMetadata.InputLayout, "NCHW");
        Add(OnnxMetadata.ChannelOrder, "RGB");
        Add(OnnxMetadata.Mean, JsonSerializer.Serialize(pose?.Mean ?? model.Mean));
        Add(OnnxMetadata.Std, JsonSerializer.Serialize(pose?.Std ?? model.Std));
        Add(OnnxMetadata.Outputs, $"{CifCafHead.CifName},{CifCafHead.CafName}");
        if (pose?.KeypointSet is { } setName) Add(OnnxMetadata.KeypointSet, setName);
        Add(OnnxMetadata.Sigmas, JsonSerializer.Serialize(meta.Sigmas));
        Add(Stride, model.Stride.ToString(CultureInfo.InvariantCulture));
        Add(CafSkeleton, JsonSerializer.Serialize(meta.Skeleton.Select(s => new[] { s.A, s.B })));
        Add(ScoreWeights, JsonSerializer.Serialize(meta.ScoreWeights));
        Add(FieldComponents, JsonSerializer.Serialize(new Dictionary<string, string[]> { [CifCafHead.CifName] = CifComponents, [CifCafHead.CafName] = CafComponents }));
        Add(Decoder, DecoderJson(d));
        if (options.Metadata is { } extra)
            foreach (var (key, value) in extra) Add(key, value);
        return props;
    }

    /// <summary>The decoder thresholds under OpenPifPaf's option names.</summary>
    public static string DecoderJson(CifCafDecoderOptions d) => JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["cif_th"] = d.CifThreshold,
        ["seed_threshold"] = d.SeedThreshold,
        ["caf_th"] = d.CafThreshold,
        ["caf_score_threshold"] = d.CafScoreThreshold,
        ["keypoint_threshold"] = d.KeypointThreshold,
        ["keypoint_threshold_rel"] = d.KeypointThresholdRel,
        ["instance_threshold"] = d.InstanceThreshold,
        ["reverse_match"] = d.ReverseMatch,
        ["force_complete_pose"] = d.ForceComplete,
        ["max_detections"] = d.MaxDetections,
    });

    /// <summary>Reads <see cref="DecoderJson"/> back; absent keys keep their defaults.</summary>
    public static CifCafDecoderOptions ParseDecoder(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var r = doc.RootElement;
        var d = new CifCafDecoderOptions();
        double D(string k, double v) => r.TryGetProperty(k, out var e) ? e.GetDouble() : v;
        bool B(string k, bool v) => r.TryGetProperty(k, out var e) ? e.GetBoolean() : v;
        return d with
        {
            CifThreshold = D("cif_th", d.CifThreshold),
            SeedThreshold = D("seed_threshold", d.SeedThreshold),
            CafThreshold = D("caf_th", d.CafThreshold),
            CafScoreThreshold = D("caf_score_threshold", d.CafScoreThreshold),
            KeypointThreshold = D("keypoint_threshold", d.KeypointThreshold),
            KeypointThresholdRel = D("keypoint_threshold_rel", d.KeypointThresholdRel),
            InstanceThreshold = D("instance_threshold", d.InstanceThreshold),
            ReverseMatch = B("reverse_match", d.ReverseMatch),
            ForceComplete = B("force_complete_pose", d.ForceComplete),
            MaxDetections = r.TryGetProperty("max_detections", out var m) ? m.GetInt32() : d.MaxDetections,
        };
    }
}
