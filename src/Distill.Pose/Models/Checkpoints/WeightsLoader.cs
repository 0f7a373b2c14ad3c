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

    public static OrderedDictionary<string, Tensor> Load(string path, bool preferEma = true) =>
        RenameLegacyHead(LoadStored(path, preferEma), path);

    /// <summary>mmpose 0.x checkpoints name the head keypoint_head.*; mmpose 1.x reads them as head.*, and so does this.</summary>
    private static OrderedDictionary<string, Tensor> RenameLegacyHead(OrderedDictionary<string, Tensor> sd, string path)
    {
        if (!MmposeLegacyKeyMap.MatchesLegacyHead(sd.Keys)) return sd;
        var renamed = new OrderedDictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (key, tensor) in sd) renamed.Add(MmposeLegacyKeyMap.MapLegacyKey(key), tensor);
        return renamed;
    }

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

    /// <summary>Loads a checkpoint's weights into <paramref name="model"/> (strict: every key must match) and frees them.</summary>
    public static void LoadInto(Distill.Torch.Nn.Module model, string path, bool preferEma = true)
    {
        var sd = Load(path, preferEma);
        try
        {
            model.LoadStateDict(sd, strict: true);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}{LayoutHint(sd.Keys)}", e);
        }
        finally
        {
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
        if (layout == CheckpointLayout.OriginalViTPose || list.Any(k => k.StartsWith("keypoint_head.", StringComparison.Ordinal)))
            return " Hint: this looks like a checkpoint of the original ViTPose layout (keypoint_head.deconv_layers.*, not head.*); " +
                "its backbone loads through model.backbone_checkpoint, which maps that layout.";
        if (layout == CheckpointLayout.HuggingFaceViT)
            return " Hint: this looks like a Hugging Face ViT checkpoint (embeddings.*, encoder.layer.*); its weights load through model.backbone_checkpoint.";
        return "";
    }
}
