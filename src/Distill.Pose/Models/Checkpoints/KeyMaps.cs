using Distill.Pose.Models.Backbones;
using Distill.Torch;
using Distill.Torch.Serialization;

namespace Distill.Pose.Models.Checkpoints;

/// <summary>Recognises a checkpoint's naming scheme and converts it to mmpose names.</summary>
public static class KeyMaps
{
    /// <summary>
    /// The layout of a state dict's keys. The original ViTPose and Hugging Face marks are tested before the mmpose
    /// ones, since the original ViTPose layout also uses the <c>backbone.</c> prefix; an mmpose 0.x head
    /// (keypoint_head.*) beside a backbone without the ViTPose marks is mmpose's own older layout.
    /// </summary>
    public static CheckpointLayout Detect(IEnumerable<string> keys)
    {
        var list = keys as IReadOnlyCollection<string> ?? keys.ToList();
        if (MmposeLegacyKeyMap.MatchesLegacyHead(list)) return CheckpointLayout.MmposeLegacy;
        if (MmposeLegacyKeyMap.MatchesBareHrnet(list)) return CheckpointLayout.BareBackbone;
        if (ViTPoseKeyMap.Matches(list)) return CheckpointLayout.OriginalViTPose;
        if (HuggingFaceVitInit.Matches(list)) return CheckpointLayout.HuggingFaceViT;
        if (MmposeKeyMap.Matches(list)) return CheckpointLayout.Mmpose;
        return CheckpointLayout.Unknown;
    }

    /// <summary>
    /// Detects the layout and converts to mmpose names. <paramref name="target"/>, when given, is the ViT the weights
    /// are meant for: position embeddings are fitted to its patch grid and a Hugging Face patch size is checked
    /// against it. <paramref name="source"/> names the input in error messages (usually the file path).
    /// The input is neither modified nor disposed.
    /// </summary>
    /// <exception cref="CheckpointFormatException">Unknown layout, or tensors the layout cannot convert.</exception>
    public static KeyMapResult ToMmpose(IReadOnlyDictionary<string, Tensor> stateDict, VisionTransformer? target = null,
        string source = "state dict") => Detect(stateDict.Keys) switch
        {
            CheckpointLayout.OriginalViTPose => ViTPoseKeyMap.ToMmpose(stateDict, target, source),
            CheckpointLayout.HuggingFaceViT => HuggingFaceVitInit.ToMmpose(stateDict, target, source),
            CheckpointLayout.Mmpose => MmposeKeyMap.ToMmpose(stateDict, target, source),
            CheckpointLayout.MmposeLegacy => MmposeLegacyKeyMap.FromLegacyHead(stateDict, source),
            CheckpointLayout.BareBackbone => MmposeLegacyKeyMap.FromBareHrnet(stateDict, source),
            _ => throw UnknownLayout(stateDict.Keys.ToList(), source),
        };

    internal static CheckpointFormatException UnknownLayout(IReadOnlyList<string> keys, string source)
    {
        if (keys.Count == 0) return new CheckpointFormatException(source, "the state dict is empty");
        var message = $"unrecognised checkpoint layout (keys: {string.Join(", ", keys.Take(6).Select(k => $"'{k}'"))}" +
            (keys.Count > 6 ? $", ... {keys.Count} in all" : "") + "); expected mmpose names (backbone.*, head.*), the " +
            "original ViTPose names (backbone.blocks.*, keypoint_head.*) or a Hugging Face ViT ([vit.]embeddings.*, [vit.]encoder.layer.*)";
        var wrappers = keys.Select(k => k.Split('.')[0]).Where(p => p is "student" or "teacher" or "model").Distinct().ToList();
        if (wrappers.Count > 0)
            message += $"; the keys are under {string.Join(" and ", wrappers.Select(w => $"'{w}.'"))}: pick one with " +
                "StateDictLoadOptions.Prefix";
        return new CheckpointFormatException(source, message);
    }
}
