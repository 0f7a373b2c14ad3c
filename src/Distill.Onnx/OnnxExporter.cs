using Distill.Onnx.Decoding;
using Distill.Onnx.Emitters;
using Distill.Onnx.Graph;
using Distill.Onnx.Protos;
using Distill.Pose.Codecs;
using Distill.Pose.Models;
using Distill.Pose.Models.Heads;
using Distill.Torch;
using Google.Protobuf;

namespace Distill.Onnx;

/// <summary>
/// Writes a top-down pose model as an ONNX graph: input "input" (N, 3, H, W) float32, already normalised, at the
/// model's native input size; outputs the head's ("simcc_x"/"simcc_y", "heatmaps" or "keypoints") and, when
/// decoding, "keypoints" (N, K, 2) in input pixels and "scores" (N, K). The graph always has inference semantics
/// (BatchNorm running statistics, no dropout), whatever the model's training flag.
/// </summary>
/// <remarks>
/// The model is only read: folded weights and transposed matrices are new tensors. Every module is checked for an
/// emitter (and every option for validity) before any node is built, so an unsupported model fails with all its
/// problems listed and nothing written.
/// </remarks>
public static class OnnxExporter
{
    public const string InputName = "input";
    public const string KeypointsName = "keypoints";
    public const string ScoresName = "scores";
    public const string ProducerName = "distill";
    public const string BatchSymbol = "batch";

    // A protobuf message cannot exceed 2 GiB; larger models would need ONNX's external-data layout.
    private const long MaxInitializerBytes = 2_000_000_000;

    /// <summary>Builds the ONNX model in memory.</summary>
    public static ModelProto Export(TopdownPoseEstimator model, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new OnnxExportOptions();
        Check(model, options);

        using var scope = torch.NewDisposeScope();
        using var noGrad = Autograd.NoGrad();
        var graph = new OnnxGraph(options.Opset, "distill_pose");
        var context = new OnnxEmitContext(graph, options, model.InputSize);
        OnnxDim batch = options.StaticBatch is int n ? OnnxDim.Of(n) : OnnxDim.Named(BatchSymbol);
        var (w, h) = model.InputSize;
        graph.AddInput(InputName, TensorProto.Types.DataType.Float, batch, 3, h, w);

        var features = context.Emit(model.Backbone, "backbone", [InputName]);
        var heads = context.Emit(model.Head, "head", features).ToArray();
        var names = model.Head.OutputNames;
        if (heads.Length != names.Length)
            throw new OnnxExportException($"head ({model.Head.TypeName}) produced {heads.Length} outputs for its {names.Length} output names");

        var outputNames = new List<string>();
        long k = model.NumKeypoints;
        // A regression head's raw output is already called "keypoints"; decoding replaces it with the pixel version.
        bool replaceRaw = options.Decode && names.Contains(KeypointsName);
        for (int i = 0; i < names.Length && !replaceRaw; i++)
        {
            heads[i] = graph.AddOutput(heads[i], names[i], TensorProto.Types.DataType.Float, OutputDims(model, names[i], batch));
            outputNames.Add(names[i]);
        }
        if (options.Decode)
        {
            var (keypoints, scores) = GraphDecoders.Emit(context, model.Codec, heads);
            long decoded = model.Head is RegressionHead r ? r.NumPersons * k : k;
            graph.AddOutput(keypoints, KeypointsName, TensorProto.Types.DataType.Float, [batch, decoded, 2]);
            graph.AddOutput(scores, ScoresName, TensorProto.Types.DataType.Float, [batch, decoded]);
            outputNames.Add(KeypointsName);
            outputNames.Add(ScoresName);
        }

        return Package(graph, options.Opset, OnnxMetadata.Build(model, options, outputNames));
    }

    /// <summary>The model file around a finished graph: IR version, producer, opset and metadata.</summary>
    internal static ModelProto Package(OnnxGraph graph, int opset, IEnumerable<KeyValuePair<string, string>> metadata)
    {
        long bytes = graph.Initializers.Sum(t => (long)t.RawData.Length);
        if (bytes > MaxInitializerBytes)
            throw new OnnxExportException($"the model's weights take {bytes} bytes, more than one ONNX protobuf file can hold (2 GiB)");

        var proto = new ModelProto
        {
            IrVersion = IrVersion(opset),
            ProducerName = ProducerName,
            ProducerVersion = typeof(OnnxExporter).Assembly.GetName().Version?.ToString(3) ?? "0.0.0",
            Graph = graph.ToProto(),
        };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        foreach (var (key, value) in metadata)
            proto.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        return proto;
    }

    /// <summary>
    /// Exports to <paramref name="path"/> through a temporary file renamed into place, so the path holds either the
    /// complete new model or whatever it held before; the temporary file is removed on any failure.
    /// </summary>
    public static void ExportToFile(TopdownPoseEstimator model, string path, OnnxExportOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        WriteAtomically(Export(model, options), path);
    }

    /// <summary>Writes <paramref name="proto"/> to <paramref name="path"/> through a temporary file renamed into place.</summary>
    internal static void WriteAtomically(ModelProto proto, string path)
    {
        string full = Path.GetFullPath(path);
        string temp = full + ".tmp";
        try
        {
            using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                proto.WriteTo(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch (Exception e)
        {
            TryDelete(temp);
            if (e is IOException or UnauthorizedAccessException)
                throw new OnnxExportException($"cannot write ONNX model to '{full}': {e.Message}", e);
            throw;
        }
    }

    /// <summary>
    /// Throws an <see cref="OnnxExportException"/> listing every reason the model cannot be exported with these
    /// options: invalid options, modules without an emitter (by path and type), unsupported configurations,
    /// in-graph decoding the codec does not allow, and inconsistent metadata.
    /// </summary>
    public static void Check(TopdownPoseEstimator model, OnnxExportOptions options)
    {
        var problems = new List<string>(options.Validate());
        foreach (var (name, module) in model.NamedModules())
        {
            if (name.Length == 0) continue;
            var emitter = OnnxEmitters.Find(module.GetType());
            if (emitter is null)
            {
                problems.Add($"module '{name}' of type {OnnxEmitters.TypeName(module.GetType())} has no ONNX emitter " +
                    $"(supported types: {string.Join(", ", OnnxEmitters.SupportedTypes)})");
                continue;
            }
            if (emitter.CheckSupported(module, options) is string reason)
                problems.Add($"module '{name}' of type {OnnxEmitters.TypeName(module.GetType())}: {reason}");
        }
        if (options.Decode)
        {
            if (GraphDecoders.Unsupported(model.Codec) is string reason) problems.Add($"cannot decode in the graph: {reason}");
            int expected = model.Codec is SimCCLabel ? 2 : 1;
            if (model.Head.OutputNames.Length != expected)
                problems.Add($"cannot decode in the graph: codec {model.Codec.TypeName} reads {expected} head output(s), head {model.Head.TypeName} has {model.Head.OutputNames.Length}");
        }
        problems.AddRange(OnnxMetadata.Validate(model, options));
        if (problems.Count > 0)
            throw new OnnxExportException("cannot export the model to ONNX:" + Environment.NewLine + string.Join(Environment.NewLine, problems.Select(p => "  - " + p)));
    }

    /// <summary>The IR version that goes with each opset (opsets 13 and 14 shipped with IR 7, 15 to 17 with IR 8).</summary>
    public static long IrVersion(int opset) => opset >= 15 ? 8 : 7;

    private static OnnxDim[]? OutputDims(TopdownPoseEstimator model, string name, OnnxDim batch)
    {
        long k = model.NumKeypoints;
        return (model.Head, name) switch
        {
            (RTMCCHead h, "simcc_x") => [batch, k, h.BinsX],
            (RTMCCHead h, "simcc_y") => [batch, k, h.BinsY],
            (HeatmapHead, _) when model.Codec is HeatmapCodec c => [batch, k, c.HeatmapSize.Height, c.HeatmapSize.Width],
            (HeatmapHead, _) => [batch, k, OnnxDim.Unknown, OnnxDim.Unknown],
            (RegressionHead r, _) => [batch, r.NumPersons * k, 2],
            _ => null,
        };
    }

    private static void TryDelete(string path)
    {
        try
        {
            if (File.Exists(path)) File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
