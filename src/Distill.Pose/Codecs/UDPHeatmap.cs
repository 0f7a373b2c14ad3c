namespace Distill.Pose.Codecs;

/// <summary>
/// mmpose's <c>UDPHeatmap</c> with Gaussian targets (ViTPose): unbiased data processing maps input pixel
/// centres onto heatmap pixel centres with scale (input - 1) / (heatmap - 1).
/// </summary>
/// <remarks>
/// Encoding draws a peak-1 Gaussian at the exact sub-pixel location inside the 3-sigma window of the nearest
/// pixel. Decoding takes the arg-max and one DARK-UDP Newton step on the blurred, clipped log map, then divides
/// by (heatmap - 1) and multiplies by the input size, not by (input - 1) as encoding did: mmpose's decode therefore
/// returns x * w / (w - 1) for a clean target (0.5% too far from the corner, up to one pixel at the far edge), and
/// this codec keeps that so its predictions equal mmpose's. A map with no positive value leaves mmpose's arithmetic
/// reading its neighbours from the previous map (the last one for map 0); an all-zero map decodes to NaN.
/// </remarks>
public sealed class UDPHeatmap : HeatmapCodec
{
    public const string Name = "UDPHeatmap";

    private readonly float _scaleX, _scaleY;

    public UDPHeatmap((int Width, int Height) inputSize, (int Width, int Height) heatmapSize, double sigma = 2.0, int blurKernelSize = 11)
        : base(inputSize, heatmapSize, sigma, blurKernelSize)
    {
        _scaleX = (float)((inputSize.Width - 1.0) / (heatmapSize.Width - 1.0));
        _scaleY = (float)((inputSize.Height - 1.0) / (heatmapSize.Height - 1.0));
    }

    public override string TypeName => Name;

    /// <summary>ViTPose configs flip-test with shift_heatmap = False.</summary>
    public override bool ShiftHeatmapOnFlip => false;

    protected override (float X, float Y) ToHeatmap(float x, float y) => (x / _scaleX, y / _scaleY);

    // mmpose divides the float32 coordinate by (W - 1) and multiplies by the input size in float64.
    protected override (float X, float Y) ToInput(float x, float y) =>
        ((float)((double)x / (HeatmapSize.Width - 1) * InputSize.Width),
         (float)((double)y / (HeatmapSize.Height - 1) * InputSize.Height));

    protected override bool Draw(Span<float> plane, float x, float y) =>
        GaussianTargets.DrawUnbiasedInWindow(plane, HeatmapSize.Width, HeatmapSize.Height, x, y, Sigma);

    protected override void Refine(Span<float> xs, Span<float> ys, ReadOnlySpan<float> heatmaps) =>
        HeatmapRefinement.DarkUdp(xs, ys, heatmaps, HeatmapSize.Height, HeatmapSize.Width, BlurKernelSize);
}
