using System.ComponentModel.DataAnnotations;

namespace Distill.Training.Config.Schema;

/// <summary>What the run records besides the console log.</summary>
public sealed class LoggingOptions
{
    /// <summary>Write TensorBoard event files to the run directory.</summary>
    public bool Tensorboard { get; set; } = true;

    /// <summary>Log validation images with predicted skeletons.</summary>
    public bool LogImages { get; set; }

    /// <summary>Log parameter and gradient histograms.</summary>
    public bool Histograms { get; set; }

    /// <summary>Iterations between scalar summaries.</summary>
    [Range(1, int.MaxValue)]
    public int Interval { get; set; } = 50;
}
