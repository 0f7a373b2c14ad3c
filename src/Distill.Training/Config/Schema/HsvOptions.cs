using System.ComponentModel.DataAnnotations;

namespace Distill.Training.Config.Schema;

/// <summary>Maximum random shifts of hue (OpenCV 0-180 units) and of saturation and value (0-255 units).</summary>
public sealed class HsvOptions
{
    [Range(0, 180)]
    public int Hue { get; set; } = 5;

    [Range(0, 255)]
    public int Sat { get; set; } = 30;

    [Range(0, 255)]
    public int Val { get; set; } = 30;
}
