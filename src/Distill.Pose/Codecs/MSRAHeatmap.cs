namespace Distill.Pose.Codecs;

/// <summary>
/// mmpose's <c>MSRAHeatmap</c> (SimpleBaseline / HRNet): heatmap coordinates are input / stride with
/// stride = input size / heatmap size.
/// </summary>
/// <remarks>
/// Plain mode draws a peak-1 Gaussian on the integer pixel int(x / stride + 0.5) inside its 3-sigma window and
/// decodes by arg-max plus a quarter pixel toward the larger neighbour, times the stride. mmpose's bounds
/// are kept: x moves only when 1 &lt; x &lt; W - 1 (and 0 &lt; y &lt; H), y only when 1 &lt; y &lt; H - 1 (and 0 &lt; x &lt; W). A map with no positive value decodes to
/// (-1, -1) x stride. <see cref="Unbiased"/> mode (DARK) draws the Gaussian at the exact sub-pixel location and
/// decodes with DARK's blurred log-Taylor step.
/// </remarks>
public sealed class MSRAHeatmap : HeatmapCodec
{
    public const string Name = "MSRAHeatmap";

    private readonly float _scaleX, _scaleY;

    public MSRAHeatmap((int Width, int Height) inputSize, (int Width, int Height) heatmapSize, double sigma, bool unbiased = false, int blurKernelSize = 11)
        : base(inputSize, heatmapSize, sigma, blurKernelSize)
    {
        Unbiased = unbiased;
        _scaleX = (float)((double)inputSize.Width / heatmapSize.Width);
        _scaleY = (float)((double)inputSize.Height / heatmapSize.Height);
    }

    public override string TypeName => Name;

    /// <summary>DARK encoding and decoding.</summary>
    public bool Unbiased { get; }

    /// <summary>Input pixels per heatmap pixel (x, y), as float32 like mmpose's scale factor.</summary>
    public (float X, float Y) Stride => (_scaleX, _scaleY);

    /// <summary>MSRA configs flip-test with shift_heatmap = True.</summary>
    public override bool ShiftHeatmapOnFlip => true;

    protected override (float X, float Y) ToHeatmap(float x, float y) => (x / _scaleX, y / _scaleY);

    protected override (float X, float Y) ToInput(float x, float y) => (x * _scaleX, y * _scaleY);

    protected override bool Draw(Span<float> plane, float x, float y) => Unbiased
        ? GaussianTargets.DrawSubPixel(plane, HeatmapSize.Width, HeatmapSize.Height, x, y, Sigma)
        : GaussianTargets.DrawIntegerCentred(plane, HeatmapSize.Width, HeatmapSize.Height, x, y, Sigma);

    protected override void Refine(Span<float> xs, Span<float> ys, ReadOnlySpan<float> heatmaps)
    {
        if (Unbiased) HeatmapRefinement.Dark(xs, ys, heatmaps, HeatmapSize.Height, HeatmapSize.Width, BlurKernelSize);
        else HeatmapRefinement.QuarterOffset(xs, ys, heatmaps, HeatmapSize.Height, HeatmapSize.Width);
    }
}
