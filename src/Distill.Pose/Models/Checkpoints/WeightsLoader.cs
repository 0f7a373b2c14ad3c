using Distill.Torch;
using Distill.Torch.Serialization;

namespace Distill.Pose.Models.Checkpoints;

/// <summary>
/// Reads model weights from any checkpoint Distill meets: its own (student./ema.student. keys in safetensors), an
/// official mmpose .pth (state_dict with backbone./head. keys, possibly student./teacher. or module. prefixed) or a
/// plain state dict. Returns backbone./head. names.
/// </summary>
public static class WeightsLoader
{
    public const string StudentPrefix = "student.";
    public const string EmaPrefix = "ema.";

    public static OrderedDictionary<string, Tensor> Load(string path, bool preferEma = true) => LoadStored(path, preferEma);

    private static OrderedDictionary<string, Tensor> LoadStored(string path, bool preferEma)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"checkpoint not found: {path}", path);
        var keys = PeekKeys(path);
        bool hasStudent = keys?.Any(k => k.StartsWith(StudentPrefix, StringComparison.Ordinal)) ?? false;
        bool hasEma = keys?.Any(k => k.StartsWith(EmaPrefix + StudentPrefix, StringComparison.Ordinal)) ?? false;
        var options = new StateDictLoadOptions
        {
            UseEma = preferEma && hasEma,
            Prefix = hasStudent || hasEma ? StudentPrefix : null,
        };
        if (keys is null)
        {
            // A .pth: let the loader find state_dict; a distiller checkpoint from mmpose uses student./teacher. keys.
            try
            {
                return StateDictLoader.LoadStateDict(path, options with { Prefix = StudentPrefix });
            }
            catch (CheckpointFormatException)
            {
                return StateDictLoader.LoadStateDict(path, options);
            }
        }
        return StateDictLoader.LoadStateDict(path, options);
    }

    /// <summary>
    /// Loads a checkpoint's weights into <paramref name="model"/> (strict: every key must match) and frees them. A
    /// checkpoint of the original ViTPose release (backbone.blocks.*, keypoint_head.*) is recognised by its keys and
    /// mapped to mmpose names first (<see cref="ViTPoseKeyMap"/>), as is an mmpose 0.x one (keypoint_head.* read as
    /// head.*, <see cref="MmposeLegacyKeyMap"/>); the report says what was renamed. A published file that records
    /// modules it left out (<see cref="OmittedWeights"/>) may lack their keys, and only theirs: those modules keep their
    /// initial values and the report lists them.
    /// </summary>
    public static WeightsLoadReport LoadInto(Distill.Torch.Nn.Module model, string path, bool preferEma = true)
    {
        var sd = Load(path, preferEma);
        var omitted = OmittedPrefixes(path);
        KeyMapResult? mapped = null;
        try
        {
            var layout = KeyMaps.Detect(sd.Keys);
            IReadOnlyDictionary<string, Tensor> weights = sd;
            if (layout == CheckpointLayout.OriginalViTPose)
            {
                var vit = model.NamedChildren().FirstOrDefault(c => c.Key == "backbone").Value as Backbones.VisionTransformer;
                mapped = ViTPoseKeyMap.ToMmpose(sd, vit, path);
                weights = mapped.StateDict;
            }
            else if (layout == CheckpointLayout.MmposeLegacy)
            {
                // mmpose 0.x names the head keypoint_head.*; mmpose 1.x reads it as head.*, and so does this.
                mapped = MmposeLegacyKeyMap.FromLegacyHead(sd, path);
                weights = mapped.StateDict;
            }
            // A key left out on purpose loads the model's own tensor (copying a tensor onto itself changes nothing), so
            // strict loading still names every other missing key, and every unexpected or mis-shaped one.
            var kept = new List<string>();
            if (omitted.Count > 0)
            {
                var complete = new Dictionary<string, Tensor>(weights, StringComparer.Ordinal);
                foreach (var (key, own) in model.StateDict())
                {
                    if (complete.ContainsKey(key) || !OmittedWeights.Covers(omitted, key)) continue;
                    complete[key] = own;
                    kept.Add(key);
                }
                weights = complete;
            }
            model.LoadStateDict(weights, strict: true);
            return new WeightsLoadReport
            {
                Path = path,
                Layout = mapped?.Layout ?? CheckpointLayout.Mmpose,
                Loaded = weights.Count - kept.Count,
                Omitted = omitted,
                LeftInitialised = kept,
                Renamed = mapped is null ? []
                    : mapped.StateDict.Keys.SelectMany(to => mapped.Sources[to].Where(from => from != to).Select(from => (from, to))).ToList(),
                Notes = mapped?.Notes ?? [],
            };
        }
        catch (InvalidDataException e)
        {
            var mappedNote = mapped is null ? "" : $" (keys read as the {mapped.Layout} layout and mapped to mmpose names)";
            var omittedNote = omitted.Count == 0 ? "" : $" (the file records only {OmittedWeights.Format(omitted)} as left out)";
            throw new InvalidDataException($"{path}: {e.Message}{mappedNote}{omittedNote}{(mapped is null ? LayoutHint(sd.Keys) : "")}", e);
        }
        finally
        {
            mapped?.Dispose();
            foreach (var t in sd.Values) t.Dispose();
        }
    }

    /// <summary>Keys of a safetensors file (cheap: header only), or null for other formats.</summary>
    private static List<string>? PeekKeys(string path) => PeekHeader(path)?.Tensors.Select(t => t.Name).ToList();

    /// <summary>The header of a safetensors file, or null for other formats.</summary>
    private static SafeTensorsHeader? PeekHeader(string path)
    {
        try
        {
            return SafeTensors.ReadHeader(path);
        }
        catch (CheckpointFormatException)
        {
            return null;
        }
    }

    /// <summary>
    /// The module prefixes a published weights file records as left out (<see cref="OmittedWeights.MetadataKey"/>);
    /// none for a file that records none or is not safetensors.
    /// </summary>
    public static IReadOnlyList<string> OmittedPrefixes(string path) => OmittedWeights.Parse(PeekHeader(path)?.Metadata);

    /// <summary>A hint when a checkpoint's key names show which other layout it was written in.</summary>
    internal static string LayoutHint(IEnumerable<string> keys)
    {
        var list = keys.ToList();
        var layout = KeyMaps.Detect(list);
        if (layout == CheckpointLayout.HuggingFaceViT)
            return " Hint: this looks like a Hugging Face ViT checkpoint (embeddings.*, encoder.layer.*); its weights load through model.backbone_checkpoint.";
        return "";
    }
}
