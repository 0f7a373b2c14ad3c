using Distill.Pose.Models.Backbones;
using Distill.Torch;

namespace Distill.Pose.Models.Checkpoints;

/// <summary>
/// The mmpose layout needs no renaming. Only the ViT position embedding may need fitting: mmpretrain pre-trained
/// weights keep a cls slot, which a model without a cls token drops (as mmpretrain does), and a checkpoint trained on
/// another patch grid is resized to the model's.
/// </summary>
public static class MmposeKeyMap
{
    public const string PosEmbedKey = "backbone.pos_embed";

    /// <summary>True when some key is under <c>backbone.</c> or <c>head.</c>.</summary>
    public static bool Matches(IEnumerable<string> keys) => keys.Any(k =>
        k.StartsWith("backbone.", StringComparison.Ordinal) || k.StartsWith("head.", StringComparison.Ordinal));

    /// <summary>
    /// Copies every entry (new handles on the same storage). With a <paramref name="target"/> whose grid differs from
    /// the stored position embedding, that embedding is fitted when its grid can be inferred.
    /// </summary>
    public static KeyMapResult ToMmpose(IReadOnlyDictionary<string, Tensor> stateDict, VisionTransformer? target = null,
        string source = "state dict")
    {
        using var builder = new KeyMapBuilder(source);
        foreach (var (key, tensor) in stateDict)
        {
            var fitted = key == PosEmbedKey && target is not null ? FitPosEmbed(tensor, target, builder) : null;
            builder.Add(key, fitted ?? tensor.Alias(), key);
        }
        return builder.Build(CheckpointLayout.Mmpose);
    }

    private static Tensor? FitPosEmbed(Tensor pos, VisionTransformer target, KeyMapBuilder builder)
    {
        var grid = target.PosGrid;
        if (pos.Dim != 3 || pos.Size(0) != 1) return null;
        long n = pos.Size(1);
        if (n == grid.H * grid.W) return null;
        if (PosEmbedFit.InferGrid(n, grid) is not null) return PosEmbedFit.Fit(pos, grid, PosEmbedKey, builder);
        if (n < 2 || PosEmbedFit.InferGrid(n - 1, grid) is null)
        {
            builder.Note($"'{PosEmbedKey}' holds {n} positions, which form no grid for the model's {grid.H}x{grid.W} one; " +
                "it is left as stored");
            return null;
        }
        using var patches = pos.Narrow(1, 1, n - 1);
        builder.Note($"'{PosEmbedKey}': the cls slot was dropped (the model has no cls token)");
        return PosEmbedFit.Fit(patches, grid, PosEmbedKey, builder);
    }
}
