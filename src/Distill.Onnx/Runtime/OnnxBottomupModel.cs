using System.Globalization;
using System.Text.Json;
using Distill.Onnx.Protos;
using Distill.Pose.BottomUp;
using Distill.Pose.BottomUp.Decoding;
using Distill.Pose.BottomUp.Heads;
using Distill.Torch;
using Google.Protobuf;

namespace Distill.Onnx.Runtime;

/// <summary>
/// An exported bottom-up (CIF/CAF) pose model with its decoder rebuilt from the file's metadata alone: input size,
/// normalisation, keypoints, CAF skeleton, score weights, stride and thresholds. <see cref="Predict"/> does what
/// <c>BottomupPoseEstimator.Predict</c> does, with ONNX Runtime computing the fields.
/// </summary>
public sealed class OnnxBottomupModel : IDisposable
{
    private readonly CifCafDecoder _decoder;

    public OnnxSession Session { get; }
    public string Path { get; }
    public (int Width, int Height) InputSize { get; }
    public double[] Mean { get; }
    public double[] Std { get; }
    public int NumKeypoints { get; }

    /// <summary>Input pixels per field cell.</summary>
    public int Stride { get; }

    public CifCafMeta Meta { get; }
    public CifCafDecoderOptions DecoderOptions { get; }

    /// <summary>The skeleton overlays are drawn with: the keypoint set's when the file names it, else the CAF limbs.</summary>
    public IReadOnlyList<(int From, int To)> Skeleton { get; }

    private OnnxBottomupModel(OnnxSession session, string path)
    {
        Session = session;
        Path = path;
        var meta = session.Metadata;
        var reader = new MetadataReader(meta, path, "the bottom-up model's metadata has no '{key}' entry; export it with `distill export` (this version), which writes the decoder's stride, skeleton and thresholds into the file");
        string Need(string key) => reader.Need(key);
        T Parse<T>(string key) => reader.Parse<T>(key);
        int PositiveInt(string key) => int.TryParse(Need(key), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n
            : throw new InvalidDataException($"{path}: metadata '{key}' is not a positive integer: {meta[key]}");
        double[] Triple(string key)
        {
            var v = Parse<double[]>(key);
            return v.Length == 3 ? v : throw new InvalidDataException($"{path}: metadata '{key}' must hold 3 RGB values, got {v.Length}");
        }
        List<(int, int)> Links(string key, int k) => Parse<int[][]>(key).Select(l => l.Length == 2 && l.All(i => i >= 0 && i < k) ? (l[0], l[1])
            : throw new InvalidDataException($"{path}: metadata '{key}' has a link that is not two keypoint indices in 0..{k - 1}")).ToList();

        if (Need(BottomupOnnxExporter.PoseModel) != BottomupOnnxExporter.BottomupKind)
            throw new InvalidDataException($"{path}: metadata '{BottomupOnnxExporter.PoseModel}' is '{meta[BottomupOnnxExporter.PoseModel]}', not '{BottomupOnnxExporter.BottomupKind}'");
        NumKeypoints = PositiveInt(OnnxMetadata.NumKeypoints);
        Stride = PositiveInt(BottomupOnnxExporter.Stride);
        var size = Parse<int[]>(OnnxMetadata.InputSize);
        if (size.Length != 2 || size[0] < 1 || size[1] < 1)
            throw new InvalidDataException($"{path}: metadata '{OnnxMetadata.InputSize}' must be [width, height], got {meta[OnnxMetadata.InputSize]}");
        InputSize = (size[0], size[1]);
        if (Need(OnnxMetadata.InputLayout) != "NCHW" || Need(OnnxMetadata.ChannelOrder) != "RGB")
            throw new InvalidDataException($"{path}: expected an NCHW RGB input, the metadata says {meta[OnnxMetadata.InputLayout]} {meta[OnnxMetadata.ChannelOrder]}");
        Mean = Triple(OnnxMetadata.Mean);
        Std = Triple(OnnxMetadata.Std);
        if (Std.Any(s => !(s > 0))) throw new InvalidDataException($"{path}: metadata '{OnnxMetadata.Std}' must be positive: {meta[OnnxMetadata.Std]}");

        var names = Parse<string[]>(OnnxMetadata.KeypointNames);
        var sigmas = Parse<double[]>(OnnxMetadata.Sigmas);
        var flip = Parse<int[]>(OnnxMetadata.FlipIndices);
        var weights = Parse<double[]>(BottomupOnnxExporter.ScoreWeights);
        var limbs = Links(BottomupOnnxExporter.CafSkeleton, NumKeypoints);
        if (names.Length != NumKeypoints) throw new InvalidDataException($"{path}: metadata has {names.Length} keypoint names for {NumKeypoints} keypoints");
        if (sigmas.Length != NumKeypoints || sigmas.Any(s => !(s > 0)))
            throw new InvalidDataException($"{path}: metadata '{OnnxMetadata.Sigmas}' must hold {NumKeypoints} positive OKS sigmas");
        if (weights.Length != NumKeypoints || weights.Any(w => !(w >= 0)))
            throw new InvalidDataException($"{path}: metadata '{BottomupOnnxExporter.ScoreWeights}' must hold {NumKeypoints} non-negative weights");
        try
        {
            Meta = new CifCafMeta(names, sigmas, limbs, flip, null, weights);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{path}: the keypoint metadata does not describe CIF/CAF fields ({e.Message})", e);
        }
        try
        {
            DecoderOptions = BottomupOnnxExporter.ParseDecoder(Need(BottomupOnnxExporter.Decoder));
            _decoder = new CifCafDecoder(Meta, DecoderOptions);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or ArgumentException)
        {
            throw new InvalidDataException($"{path}: metadata '{BottomupOnnxExporter.Decoder}' is not valid ({e.Message}): {meta[BottomupOnnxExporter.Decoder]}", e);
        }
        Skeleton = meta.ContainsKey(OnnxMetadata.Skeleton) ? Links(OnnxMetadata.Skeleton, NumKeypoints) : limbs;

        // The graph must give the fields the decoder reads, of the sizes the metadata implies.
        var declared = session.InputShape;
        if (declared.Length != 4 || declared[1] != 3 || declared[2] != InputSize.Height || declared[3] != InputSize.Width)
            throw new InvalidDataException($"{path}: the model's input [{string.Join(", ", declared)}] is not (N, 3, {InputSize.Height}, {InputSize.Width}) as its metadata says");
        foreach (var (name, fields, components) in new[] { (CifCafHead.CifName, NumKeypoints, 5), (CifCafHead.CafName, Meta.NumLimbs, 8) })
        {
            if (!session.OutputNames.Contains(name))
                throw new InvalidDataException($"{path}: a bottom-up model needs output '{name}', which the model does not have (outputs: {string.Join(", ", session.OutputNames)})");
            var shape = session.OutputShape(name, 1);
            if (shape is not null && (shape.Length != 5 || shape[1] != fields || shape[2] != components))
                throw new InvalidDataException($"{path}: output '{name}' is [{string.Join(", ", shape.Skip(1))}] per image; the metadata implies ({fields}, {components}, H, W)");
        }
    }

    /// <summary>
    /// Whether <paramref name="path"/> is an ONNX model whose metadata marks it bottom-up. Reads only the metadata
    /// (the weights are skipped); a file that is missing or not a model answers false, so its loader reports it.
    /// </summary>
    public static bool IsBottomup(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            var input = new CodedInputStream(stream);
            uint tag;
            while ((tag = input.ReadTag()) != 0)
            {
                if (WireFormat.GetTagFieldNumber(tag) == ModelProto.MetadataPropsFieldNumber && WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
                {
                    var entry = new StringStringEntryProto();
                    input.ReadMessage(entry);
                    if (entry.Key == BottomupOnnxExporter.PoseModel) return entry.Value == BottomupOnnxExporter.BottomupKind;
                }
                else
                {
                    input.SkipLastField();
                }
            }
            return false;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidProtocolBufferException)
        {
            return false;
        }
    }

    /// <summary>Loads <paramref name="path"/>; a missing, corrupt or truncated file, or missing metadata, is reported with its path.</summary>
    public static OnnxBottomupModel Load(string path, OnnxSessionOptions? options = null)
    {
        var session = OnnxSession.Load(path, options);
        try
        {
            return new OnnxBottomupModel(session, path);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>Every person in each image of a batch of normalised (N, 3, H, W) inputs, in input pixels, best first.</summary>
    public List<List<DecodedPose>> Predict(Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        var fields = Session.Run(input);
        return _decoder.Decode(fields[CifCafHead.CifName], fields[CifCafHead.CafName], Stride);
    }

    public void Dispose() => Session.Dispose();
}
