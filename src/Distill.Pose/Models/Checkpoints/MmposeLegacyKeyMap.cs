using Distill.Torch;

namespace Distill.Pose.Models.Checkpoints;

/// <summary>
/// Two mmpose layouts that differ from 1.x names only by a prefix: mmpose 0.x checkpoints (the 2022 HRFormer ones, for
/// example) name the head <c>keypoint_head.*</c> where 1.x says <c>head.*</c>, as mmpose 1.x renames on load; and
/// ImageNet initialisations of the HRNet family (HRFormer's <c>hrformer_{small,base}-*.pth</c>) hold the backbone's own
/// state dict without <c>backbone.</c>, as mmengine's Pretrained init loads them into the backbone module.
/// </summary>
public static class MmposeLegacyKeyMap
{
    private const string LegacyHead = "keypoint_head.";

    // Top-level children of an HRNet-family backbone; other keys of an ImageNet file belong to its classifier.
    private static readonly HashSet<string> HrnetParts = new(StringComparer.Ordinal)
    {
        "conv1", "bn1", "conv2", "bn2", "layer1", "transition1", "transition2", "transition3", "stage2", "stage3", "stage4",
    };

    /// <summary>
    /// mmpose 0.x: a <c>keypoint_head.*</c> head beside mmpose backbone names, without the original ViTPose's
    /// backbone marks (those files are <see cref="CheckpointLayout.OriginalViTPose"/>).
    /// </summary>
    public static bool MatchesLegacyHead(IReadOnlyCollection<string> keys) =>
        keys.Any(k => k.StartsWith(LegacyHead, StringComparison.Ordinal))
        && !keys.Any(k => k.StartsWith("head.", StringComparison.Ordinal))
        && keys.Any(k => k.StartsWith("backbone.", StringComparison.Ordinal))
        && !keys.Any(k => k.StartsWith("backbone.blocks.", StringComparison.Ordinal) || k.StartsWith("backbone.last_norm.", StringComparison.Ordinal)
            || k.StartsWith("backbone.patch_embed.proj.", StringComparison.Ordinal));

    /// <summary>An HRNet-family backbone state dict with no prefix: its stem, layer1 and a stage, nothing under backbone./head.</summary>
    public static bool MatchesBareHrnet(IReadOnlyCollection<string> keys) =>
        keys.Contains("conv1.weight") && keys.Any(k => k.StartsWith("layer1.", StringComparison.Ordinal))
        && keys.Any(k => k.StartsWith("stage2.", StringComparison.Ordinal))
        && !keys.Any(k => k.StartsWith("backbone.", StringComparison.Ordinal) || k.StartsWith("head.", StringComparison.Ordinal));

    /// <summary>The 1.x name of a 0.x key: <c>keypoint_head.X</c> becomes <c>head.X</c>, everything else is kept.</summary>
    public static string MapLegacyKey(string key) =>
        key.StartsWith(LegacyHead, StringComparison.Ordinal) ? "head." + key[LegacyHead.Length..] : key;

    /// <summary>Renames a 0.x state dict's head (new handles on the same storage).</summary>
    public static KeyMapResult FromLegacyHead(IReadOnlyDictionary<string, Tensor> stateDict, string source = "state dict")
    {
        using var builder = new KeyMapBuilder(source);
        foreach (var (key, tensor) in stateDict) builder.Add(MapLegacyKey(key), tensor.Alias(), key);
        builder.Note("mmpose 0.x layout: keypoint_head.* was read as head.*");
        return builder.Build(CheckpointLayout.MmposeLegacy);
    }

    /// <summary>
    /// Puts a bare HRNet-family backbone under <c>backbone.</c>; keys of the classifier around it (incre_modules,
    /// downsamp_modules, final_layer, classifier, ...) are listed as unused.
    /// </summary>
    public static KeyMapResult FromBareHrnet(IReadOnlyDictionary<string, Tensor> stateDict, string source = "state dict")
    {
        using var builder = new KeyMapBuilder(source);
        foreach (var (key, tensor) in stateDict)
        {
            if (HrnetParts.Contains(key.Split('.')[0])) builder.Add("backbone." + key, tensor.Alias(), key);
            else builder.Unused(key);
        }
        return builder.Build(CheckpointLayout.BareBackbone);
    }
}
