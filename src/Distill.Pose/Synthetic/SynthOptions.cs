namespace Distill.Pose.Synthetic;

/// <summary>What <see cref="Synth.Generate"/> writes and how.</summary>
public sealed record SynthOptions
{
    /// <summary>Dataset root; it must be empty or missing unless <see cref="Force"/> is set.</summary>
    public required string OutDir { get; init; }

    /// <summary>Every image depends on (Seed, dataset, image index) only.</summary>
    public long Seed { get; init; }

    /// <summary>Images of the COCO-format set (17 keypoints), split 90/10 into train and val; 0 skips the set.</summary>
    public int CocoImages { get; init; }

    /// <summary>Images of the MPII-format set (16 keypoints, head boxes), split 90/10; 0 skips the set.</summary>
    public int MpiiImages { get; init; }

    /// <summary>Images of the AI Challenger set (14 keypoints, COCO layout as mmpose converts it), split 90/10; 0 skips the set.</summary>
    public int AicImages { get; init; }

    /// <summary>Images of the CrowdPose set (14 keypoints, crowdIndex per image), split 90/10; 0 skips the set.</summary>
    public int CrowdPoseImages { get; init; }

    /// <summary>Clear a non-empty <see cref="OutDir"/> first instead of refusing it.</summary>
    public bool Force { get; init; }

    /// <summary>Worker threads for rendering; the output is the same for any value.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>JPEG quality of the written images.</summary>
    public int JpegQuality { get; init; } = 90;

    /// <summary>How hard the scenes are; see <see cref="SynthScene"/>.</summary>
    public SynthScene Scene { get; init; } = SynthScene.Standard;
}

/// <summary>Scene difficulty of a synthetic dataset.</summary>
public enum SynthScene
{
    /// <summary>One to three figures of varied size, some cut by the border, background clutter, occluding blobs,
    /// sensor noise and blur: hard enough that a pose network has to learn real appearance cues.</summary>
    Standard,

    /// <summary>One large, whole figure per image on a plain patterned background, with no clutter, occluders, noise or
    /// blur: a set a small network learns within minutes on a CPU, for demonstrations and smoke tests.</summary>
    Simple,

    /// <summary>One to three whole figures (mostly two or three) on a plain patterned background, without clutter,
    /// occluders, noise or blur, large enough to fill much of the image: multi-person scenes a small bottom-up network
    /// can learn on a CPU.</summary>
    Group,
}
