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
    /// head.*, <see cref="MmposeLegacyKeyMap"/>); the report says what was renamed.
    /// </summary>
    public static WeightsLoadReport LoadInto(Distill.Torch.Nn.Module model, string path, bool preferEma = true)
    {
        var sd = Load(path, preferEma);
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
            model.LoadStateDict(weights, strict: true);
            return new WeightsLoadReport
            {
                Path = path,
                Layout = mapped?.Layout ?? CheckpointLayout.Mmpose,
                Loaded = weights.Count,
                Renamed = mapped is null ? []
                    : mapped.StateDict.Keys.SelectMany(to => mapped.Sources[to].Where(from => from != to).Select(from => (from, to))).ToList(),
                Notes = mapped?.Notes ?? [],
            };
        }
        catch (InvalidDataException e)
        {
            var mappedNote = mapped is null ? "" : $" (keys read as the {mapped.Layout} layout and mapped to mmpose names)";
            throw new InvalidDataException($"{path}: {e.Message}{mappedNote}{(mapped is null ? LayoutHint(sd.Keys) : "")}", e);
        }
        finally
        {
            mapped?.Dispose();
            foreach (var t in sd.Values) t.Dispose();
        }
    }

    /// <summary>Keys of a safetensors file (cheap: header only), or null for other formats.</summary>
    private static List<string>? PeekKeys(string path)
    {
        try
        {
            return SafeTensors.ReadHeader(path).Tensors.Select(t => t.Name).ToList();
        }
        catch (CheckpointFormatException)
        {
            return null;
        }
    }

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
