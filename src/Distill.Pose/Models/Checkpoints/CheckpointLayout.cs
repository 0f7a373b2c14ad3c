namespace Distill.Pose.Models.Checkpoints;

/// <summary>Naming scheme of a checkpoint's state dict, as recognised by <see cref="KeyMaps.Detect"/>.</summary>
public enum CheckpointLayout
{
    /// <summary>None of the known layouts.</summary>
    Unknown,

    /// <summary>mmpose 1.x names (backbone.*, head.*), which are also Distill's own.</summary>
    Mmpose,

    /// <summary>
    /// The ViTPose authors' layout (mmpose 0.x based): backbone.blocks.N.*, backbone.last_norm, backbone.patch_embed.proj,
    /// a position embedding with a cls slot, and keypoint_head.*.
    /// </summary>
    OriginalViTPose,

    /// <summary>A Hugging Face transformers ViT: [vit.]embeddings.*, [vit.]encoder.layer.N.*, [vit.]layernorm.</summary>
    HuggingFaceViT,

    /// <summary>mmpose 0.x names: backbone.* as 1.x, the head as keypoint_head.* (read as head.*).</summary>
    MmposeLegacy,

    /// <summary>An HRNet-family backbone's own state dict without the backbone. prefix (ImageNet initialisations).</summary>
    BareBackbone,
}
