namespace Distill.Torch.Serialization;

/// <summary>How <see cref="StateDictLoader.LoadStateDict"/> finds and renames the tensors of a checkpoint.</summary>
public sealed record StateDictLoadOptions
{
    /// <summary>
    /// Top-level entry of a .pth file that holds the state dict (for example "model"). When null, the entry
    /// "state_dict" is used if present, otherwise the root object when it maps names to tensors.
    /// </summary>
    public string? Entry { get; init; }

    /// <summary>
    /// Keep only the keys that start with this prefix, and remove it: "student." turns
    /// "student.backbone.stem.conv.weight" into "backbone.stem.conv.weight" and drops every "teacher." key.
    /// </summary>
    public string? Prefix { get; init; }

    /// <summary>Remove a leading "module." (left by DataParallel / DistributedDataParallel) from every key.</summary>
    public bool StripModulePrefix { get; init; } = true;

    /// <summary>
    /// Load the exponential-moving-average weights instead of the raw ones. Two layouts are recognised: a separate
    /// top-level "ema_state_dict" entry (an averaged-model wrapper whose model keys start with "module."; its own
    /// counters such as "steps" are dropped), or keys starting with "ema." inside the state dict. When false, keys
    /// starting with "ema." are left out, since they are the averaged copy of the others.
    /// Note that mmengine's EMAHook swaps the two before saving: in an mmengine checkpoint "state_dict" already holds
    /// the averaged weights and "ema_state_dict" the raw ones, so such files are best read with UseEma = false.
    /// </summary>
    public bool UseEma { get; init; }
}
