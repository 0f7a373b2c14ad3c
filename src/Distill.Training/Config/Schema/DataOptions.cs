using System.ComponentModel.DataAnnotations;
using Distill.Config;

namespace Distill.Training.Config.Schema;

/// <summary>
/// Training and validation data: one or more annotated sources sampled by ratio, batching, and the augmentation
/// pipeline (with an optional milder pipeline for the final <see cref="Stage2Epochs"/> epochs).
/// </summary>
public sealed class DataOptions : IValidatable
{
    [Required]
    [MinLength(1)]
    public List<DataSourceOptions> Sources { get; set; } = [];

    [Range(1, 65536)]
    public int BatchSize { get; set; } = 32;

    [Range(1, 65536)]
    public int ValBatchSize { get; set; } = 32;

    /// <summary>Decoding and augmentation workers; 0 works on the training thread.</summary>
    [Range(0, 256)]
    public int NumWorkers { get; set; } = 2;

    /// <summary>Batches prepared ahead of the training step.</summary>
    [Range(1, 1024)]
    public int Prefetch { get; set; } = 2;

    public PipelineOptions Pipeline { get; set; } = new();

    /// <summary>The pipeline of the last <see cref="Stage2Epochs"/> epochs; null keeps <see cref="Pipeline"/>.</summary>
    public PipelineOptions? Stage2Pipeline { get; set; }

    /// <summary>How many final epochs use <see cref="Stage2Pipeline"/>.</summary>
    [Range(0, int.MaxValue)]
    public int Stage2Epochs { get; set; }

    /// <summary>
    /// Bottom-up only (OpenPifPaf's --square-edge): side of the square training input every augmented whole image is
    /// cropped or padded to; s k + 1 keeps the field cells on pixels. Null takes model.input_size's larger side.
    /// </summary>
    [Range(17, 4097)]
    public int? SquareEdge { get; set; }

    /// <summary>Bottom-up only (OpenPifPaf's --extended-scale): rescale training images by 0.25 to 2 instead of 0.4 to 2.</summary>
    public bool? ExtendedScale { get; set; }

    /// <summary>Bottom-up only (OpenPifPaf's --orientation-invariant): probability of turning a training image by a multiple of 90 degrees.</summary>
    [Range(0.0, 1.0)]
    public double? OrientationInvariant { get; set; }

    /// <summary>
    /// Bottom-up only (OpenPifPaf's --rescale-images): multiplies both ends of the training rescale range, e.g. 0.5 for
    /// images twice as large as the persons should appear at the square edge.
    /// </summary>
    [Range(0.01, 100.0)]
    public double? RescaleImages { get; set; }

    /// <summary>
    /// Bottom-up only: probability of a horizontal flip of a training image (OpenPifPaf's 0.5 when null). 0 suits data
    /// whose left and right sides look different in a way a mirror does not preserve, such as the synthetic figures'
    /// lighter left limbs: a flipped figure's lighter limbs are labelled right, which contradicts every unflipped one.
    /// </summary>
    [Range(0.0, 1.0)]
    public double? Hflip { get; set; }

    /// <summary>
    /// Bottom-up only (OpenPifPaf's --no-augmentation when false): false trains on the images exactly as evaluation
    /// sees them (long side scaled to the square edge, padded), without flip, rescale, rotation, crop or colour jitter.
    /// </summary>
    public bool? Augmentation { get; set; }

    /// <summary>The bottom-up keys this section sets, by name (a top-down experiment refuses each).</summary>
    public IEnumerable<string> BottomupKeysSet()
    {
        if (SquareEdge is not null) yield return "square_edge";
        if (ExtendedScale is not null) yield return "extended_scale";
        if (OrientationInvariant is not null) yield return "orientation_invariant";
        if (RescaleImages is not null) yield return "rescale_images";
        if (Hflip is not null) yield return "hflip";
        if (Augmentation is not null) yield return "augmentation";
    }

    public IEnumerable<ValidationMessage> Validate()
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < Sources.Count; i++)
        {
            if (!names.Add(Sources[i].Name))
                yield return ValidationMessage.For($"sources.{i}.name", $"another source is already named '{Sources[i].Name}'");
        }
        if (Sources.Count > 0 && Sources.All(s => s.Ratio == 0))
            yield return ValidationMessage.For("sources", "every source has ratio 0; nothing would be sampled");
        if (Stage2Pipeline is not null && Stage2Epochs == 0)
            yield return ValidationMessage.For("stage2_epochs", "stage2_pipeline is set but stage2_epochs is 0, so it would never be used", "stage2_pipeline");
        if (Stage2Pipeline is null && Stage2Epochs > 0)
            yield return ValidationMessage.For("stage2_epochs", $"{Stage2Epochs} stage-2 epochs need a stage2_pipeline", "stage2_pipeline");
    }
}
