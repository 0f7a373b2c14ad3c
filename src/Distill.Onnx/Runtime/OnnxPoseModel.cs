using System.Globalization;
using System.Text.Json;
using Distill.Pose.Codecs;
using Distill.Torch;

namespace Distill.Onnx.Runtime;

/// <summary>
/// An exported top-down pose model with everything needed to use it read from the file's metadata: input size,
/// normalisation, codec, flip indices, keypoints, skeleton and OKS sigmas. <see cref="Predict"/> does what
/// <c>TopdownPoseEstimator.Predict</c> does, with ONNX Runtime running the network.
/// </summary>
public sealed class OnnxPoseModel : IDisposable
{
    public OnnxSession Session { get; }
    public string Path { get; }
    public (int Width, int Height) InputSize { get; }
    public double[] Mean { get; }
    public double[] Std { get; }
    public IKeypointCodec Codec { get; }
    public int[] FlipIndices { get; }
    public int NumKeypoints { get; }
    public string KeypointSetName { get; }
    public IReadOnlyList<string> KeypointNames { get; }
    public IReadOnlyList<(int From, int To)> Skeleton { get; }
    public double[] Sigmas { get; }
    public bool? ShiftHeatmap { get; }

    /// <summary>The head outputs the codec decodes, in its order.</summary>
    private readonly string[] _headOutputs;

    private OnnxPoseModel(OnnxSession session, string path)
    {
        Session = session;
        Path = path;
        var meta = session.Metadata;
        var reader = new MetadataReader(meta, path, "the model's metadata has no '{key}' entry; export it with `distill export` (this version), which writes the codec, keypoints and normalisation into the file");
        string Need(string key) => reader.Need(key);
        T Parse<T>(string key) => reader.Parse<T>(key);

        NumKeypoints = int.TryParse(Need(OnnxMetadata.NumKeypoints), NumberStyles.None, CultureInfo.InvariantCulture, out var k) && k > 0 ? k
            : throw new InvalidDataException($"{path}: metadata '{OnnxMetadata.NumKeypoints}' is not a positive integer: {meta[OnnxMetadata.NumKeypoints]}");
        var size = Parse<int[]>(OnnxMetadata.InputSize);
        if (size.Length != 2 || size[0] < 1 || size[1] < 1)
            throw new InvalidDataException($"{path}: metadata '{OnnxMetadata.InputSize}' must be [width, height], got {meta[OnnxMetadata.InputSize]}");
        InputSize = (size[0], size[1]);
        if (Need(OnnxMetadata.InputLayout) != "NCHW" || Need(OnnxMetadata.ChannelOrder) != "RGB")
            throw new InvalidDataException($"{path}: expected an NCHW RGB input, the metadata says {meta[OnnxMetadata.InputLayout]} {meta[OnnxMetadata.ChannelOrder]}");
        Mean = Triple(Parse<double[]>(OnnxMetadata.Mean), OnnxMetadata.Mean);
        Std = Triple(Parse<double[]>(OnnxMetadata.Std), OnnxMetadata.Std);
        if (Std.Any(s => !(s > 0))) throw new InvalidDataException($"{path}: metadata '{OnnxMetadata.Std}' must be positive: {meta[OnnxMetadata.Std]}");
        FlipIndices = Parse<int[]>(OnnxMetadata.FlipIndices);
        if (FlipIndices.Length != NumKeypoints || FlipIndices.Any(i => i < 0 || i >= NumKeypoints))
            throw new InvalidDataException($"{path}: metadata '{OnnxMetadata.FlipIndices}' must permute 0..{NumKeypoints - 1}: {meta[OnnxMetadata.FlipIndices]}");
        KeypointNames = Parse<string[]>(OnnxMetadata.KeypointNames);
        if (KeypointNames.Count != NumKeypoints)
            throw new InvalidDataException($"{path}: metadata has {KeypointNames.Count} keypoint names for {NumKeypoints} keypoints");
        Skeleton = Parse<int[][]>(OnnxMetadata.Skeleton).Select(l => l.Length == 2 && l.All(i => i >= 0 && i < NumKeypoints) ? (l[0], l[1])
            : throw new InvalidDataException($"{path}: metadata '{OnnxMetadata.Skeleton}' has a link that is not two keypoint indices")).ToList();
        KeypointSetName = Need(OnnxMetadata.KeypointSet);
        Sigmas = Parse<double[]>(OnnxMetadata.Sigmas);
        if (Sigmas.Length != NumKeypoints || Sigmas.Any(s => !(s > 0)))
            throw new InvalidDataException($"{path}: metadata '{OnnxMetadata.Sigmas}' must hold {NumKeypoints} positive OKS sigmas");
        if (meta.TryGetValue(OnnxMetadata.ShiftHeatmap, out var shift)) ShiftHeatmap = shift == "true";

        using (var codecDoc = ParseDocument(Need(OnnxMetadata.Codec), OnnxMetadata.Codec))
        {
            try
            {
                if (codecDoc.RootElement.ValueKind != JsonValueKind.Object) throw new ArgumentException("not a JSON object");
                Codec = KeypointCodecs.Create(codecDoc.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => (object?)p.Value.Clone()));
            }
            catch (ArgumentException e)
            {
                throw new InvalidDataException($"{path}: metadata '{OnnxMetadata.Codec}' does not describe a codec ({e.Message})", e);
            }
        }
        if (Codec.InputSize != InputSize)
            throw new InvalidDataException($"{path}: the codec's input size {Codec.InputSize} differs from the model's {InputSize}");

        var outputs = Need(OnnxMetadata.Outputs).Split(',');
        bool decoded = outputs.Contains(OnnxExporter.ScoresName);
        _headOutputs = Codec switch
        {
            SimCCLabel => ["simcc_x", "simcc_y"],
            HeatmapCodec => ["heatmaps"],
            _ when decoded => throw new InvalidDataException($"{path}: a {Codec.TypeName} model exported with --decode has no raw head output left to decode; export it without --decode"),
            _ => [OnnxExporter.KeypointsName],
        };
        foreach (var name in _headOutputs)
            if (!session.OutputNames.Contains(name))
                throw new InvalidDataException($"{path}: codec {Codec.TypeName} decodes output '{name}', which the model does not have (outputs: {string.Join(", ", session.OutputNames)})");
        // The declared input must be the metadata's image size: (N, 3, H, W).
        var declared = session.InputShape;
        if (declared.Length != 4 || declared[1] != 3 || declared[2] != InputSize.Height || declared[3] != InputSize.Width)
            throw new InvalidDataException($"{path}: the model's input [{string.Join(", ", declared)}] is not (N, 3, {InputSize.Height}, {InputSize.Width}) as its metadata says");

        double[] Triple(double[] v, string key) => v.Length == 3 ? v
            : throw new InvalidDataException($"{path}: metadata '{key}' must hold 3 RGB values, got {v.Length}");
        JsonDocument ParseDocument(string text, string key)
        {
            try
            {
                return JsonDocument.Parse(text);
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{path}: metadata '{key}' is not valid JSON ({e.Message})", e);
            }
        }
    }

    /// <summary>Loads <paramref name="path"/>; a missing, corrupt or truncated file, or missing metadata, is reported with its path.</summary>
    public static OnnxPoseModel Load(string path, OnnxSessionOptions? options = null)
    {
        var session = OnnxSession.Load(path, options);
        try
        {
            return new OnnxPoseModel(session, path);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Decoded keypoints (input pixels) and scores for a batch of normalised (N, 3, H, W) crops, with the flip test
    /// when asked: the mirrored crop's outputs are mapped back by the codec and averaged with the plain ones.
    /// </summary>
    public DecodedKeypoints Predict(Tensor input, bool flipTest)
    {
        using var scope = torch.NewDisposeScope();
        var plain = Session.Run(input);
        var heads = _headOutputs.Select(n => plain[n]).ToList();
        if (flipTest)
        {
            var flipped = Session.Run(input.Flip(3));
            var back = FlipBack(_headOutputs.Select(n => flipped[n]).ToList());
            heads = heads.Select((h, i) => (h + back[i]) * 0.5).ToList();
        }
        return Codec.Decode(heads);
    }

    private IReadOnlyList<Tensor> FlipBack(IReadOnlyList<Tensor> flipped)
    {
        if (Codec is not HeatmapCodec heatmaps || ShiftHeatmap is not { } shift) return Codec.FlipBack(flipped, FlipIndices);
        return [heatmaps.FlipBack(flipped[0], FlipIndices, shift)];
    }

    public void Dispose() => Session.Dispose();
}
