using System.ComponentModel.DataAnnotations;
using Distill.Config;

namespace Distill.Training.Config.Schema;

/// <summary>What the run records besides the console log.</summary>
public sealed class LoggingOptions : IValidatable
{
    /// <summary>Write TensorBoard event files to the run directory.</summary>
    public bool Tensorboard { get; set; } = true;

    /// <summary>Log validation images with predicted skeletons.</summary>
    public bool LogImages { get; set; }

    /// <summary>
    /// Log a TensorBoard histogram of every trainable student parameter (weights/NAME) at the end of chosen epochs,
    /// and of its gradient at the last optimizer step of those epochs (grads/NAME).
    /// </summary>
    public bool Histograms { get; set; }

    /// <summary>Epochs between histograms (counted within each stage, whose last epoch always logs); null follows train.val_interval.</summary>
    [Range(1, 100000)]
    public int? HistogramInterval { get; set; }

    public IEnumerable<ValidationMessage> Validate()
    {
        if (HistogramInterval is not null && !Histograms)
            yield return ValidationMessage.For("histogram_interval", "histogram_interval is set but histograms is false, so it would never be used", "histograms");
    }
}
