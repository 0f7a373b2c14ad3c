using Distill.Torch;

namespace Distill.Pose.Codecs;

/// <summary>
/// Shared shape of the Gaussian-heatmap codecs: one (H, W) map per keypoint, decoded by arg-max plus a
/// codec-specific sub-pixel refinement. Heatmap codecs encode a single instance at a time, as mmpose's do.
/// </summary>
public abstract class HeatmapCodec : IKeypointCodec
{
    protected HeatmapCodec((int Width, int Height) inputSize, (int Width, int Height) heatmapSize, double sigma, int blurKernelSize)
    {
        if (inputSize.Width <= 1 || inputSize.Height <= 1)
            throw new ArgumentOutOfRangeException(nameof(inputSize), inputSize, "input size must be larger than 1 x 1");
        if (heatmapSize.Width <= 1 || heatmapSize.Height <= 1)
            throw new ArgumentOutOfRangeException(nameof(heatmapSize), heatmapSize, "heatmap size must be larger than 1 x 1");
        if (!(sigma > 0)) throw new ArgumentOutOfRangeException(nameof(sigma), sigma, "sigma must be positive");
        if (blurKernelSize <= 0 || blurKernelSize % 2 == 0)
            throw new ArgumentOutOfRangeException(nameof(blurKernelSize), blurKernelSize, "blur kernel size must be odd and positive");
        InputSize = inputSize;
        HeatmapSize = heatmapSize;
        Sigma = sigma;
        BlurKernelSize = blurKernelSize;
    }

    public abstract string TypeName { get; }

    public (int Width, int Height) InputSize { get; }

    public (int Width, int Height) HeatmapSize { get; }

    /// <summary>Gaussian sigma in heatmap pixels.</summary>
    public double Sigma { get; }

    /// <summary>Kernel size of the Gaussian blur used by DARK-style decoding.</summary>
    public int BlurKernelSize { get; }

    /// <summary>
    /// Whether flip-back shifts the mirrored maps one column to the right by default: mmpose's
    /// <c>shift_heatmap</c> in the test config of the models that use this codec.
    /// </summary>
    public abstract bool ShiftHeatmapOnFlip { get; }

    /// <summary>Maps an input-image coordinate to heatmap pixels.</summary>
    protected abstract (float X, float Y) ToHeatmap(float x, float y);

    /// <summary>Maps a refined heatmap coordinate back to input-image pixels.</summary>
    protected abstract (float X, float Y) ToInput(float x, float y);

    /// <summary>Draws one keypoint's Gaussian; false when it falls entirely outside the map.</summary>
    protected abstract bool Draw(Span<float> plane, float x, float y);

    /// <summary>Refines the K integer maxima of one instance's (K, H, W) maps in place.</summary>
    protected abstract void Refine(Span<float> xs, Span<float> ys, ReadOnlySpan<float> heatmaps);

    /// <summary>
    /// Returns <see cref="TargetNames.Heatmaps"/> (K, H, W) and <see cref="TargetNames.KeypointWeights"/> (K).
    /// Keypoints with visibility below 0.5 get an empty map and weight 0, as do keypoints whose 3-sigma window
    /// lies outside the map; others keep their visibility as weight.
    /// </summary>
    public EncodedTarget Encode(ReadOnlySpan<float> keypoints, ReadOnlySpan<float> visibility)
    {
        int k = CodecChecks.KeypointCount(TypeName, keypoints, visibility);
        var (w, h) = HeatmapSize;
        var heatmaps = new float[k * h * w];
        var weights = new float[k];
        for (int i = 0; i < k; i++)
        {
            if (visibility[i] < 0.5f) continue;
            var (x, y) = ToHeatmap(keypoints[2 * i], keypoints[2 * i + 1]);
            weights[i] = Draw(heatmaps.AsSpan(i * h * w, h * w), x, y) ? visibility[i] : 0f;
        }
        return new EncodedTarget([
            new(TargetNames.Heatmaps, new ShapedArray(heatmaps, k, h, w)),
            new(TargetNames.KeypointWeights, new ShapedArray(weights, k)),
        ]);
    }

    /// <summary>Decodes heatmaps (N, K, H, W), or (K, H, W) as N = 1. Scores are the maxima of the raw maps.</summary>
    public DecodedKeypoints Decode(ShapedArray heatmaps)
    {
        var (n, k) = CodecChecks.BatchShape(TypeName, "heatmaps", heatmaps, 2);
        var (w, h) = HeatmapSize;
        if (heatmaps.Size(-1) != w || heatmaps.Size(-2) != h)
            throw new ArgumentException(
                $"{TypeName}.Decode: heatmaps have shape [{string.Join(", ", heatmaps.Shape)}]; this codec's heatmaps are {h} x {w} (H x W)");

        int plane = h * w;
        var keypoints = new float[n, k, 2];
        var scores = new float[n, k];
        var xs = new float[k];
        var ys = new float[k];
        for (int b = 0; b < n; b++)
        {
            var instance = heatmaps.Data.AsSpan(b * k * plane, k * plane);
            for (int j = 0; j < k; j++)
            {
                var (x, y, score) = Maxima.HeatmapMaximum(instance.Slice(j * plane, plane), w);
                xs[j] = x;
                ys[j] = y;
                scores[b, j] = score;
            }
            Refine(xs, ys, instance);
            for (int j = 0; j < k; j++)
            {
                var (x, y) = ToInput(xs[j], ys[j]);
                keypoints[b, j, 0] = x;
                keypoints[b, j, 1] = y;
            }
        }
        return new DecodedKeypoints(keypoints, scores);
    }

    public DecodedKeypoints Decode(Tensor heatmaps) => Decode(ShapedArray.FromTensor(heatmaps));

    /// <summary>Outputs are (heatmaps).</summary>
    public DecodedKeypoints Decode(params IReadOnlyList<ShapedArray> outputs)
    {
        CodecChecks.OutputCount(TypeName, outputs, 1, "heatmaps");
        return Decode(outputs[0]);
    }

    /// <summary>Outputs are (heatmaps).</summary>
    public DecodedKeypoints Decode(params IReadOnlyList<Tensor> outputs)
    {
        CodecChecks.OutputCount(TypeName, outputs, 1, "heatmaps");
        return Decode(outputs[0]);
    }

    /// <summary>
    /// mmpose's flip_heatmaps in 'heatmap' mode: mirror the width, swap channels by <paramref name="flipIndices"/>,
    /// and when shifting (default <see cref="ShiftHeatmapOnFlip"/>) move every column one to the right, keeping
    /// column 0. The shift compensates the quarter-pixel asymmetry of the MSRA grid (x / stride); UDP's grid is
    /// symmetric under x -> W_in - 1 - x and needs none.
    /// </summary>
    public ShapedArray FlipBack(ShapedArray heatmaps, IReadOnlyList<int> flipIndices, bool? shift = null)
    {
        var (n, k) = CodecChecks.BatchShape(TypeName, "heatmaps", heatmaps, 2);
        CodecChecks.FlipIndices(TypeName, flipIndices, k);
        bool doShift = shift ?? ShiftHeatmapOnFlip;
        int h = heatmaps.Size(-2), w = heatmaps.Size(-1), plane = h * w;
        var result = new float[heatmaps.Length];
        for (int b = 0; b < n; b++)
        {
            for (int j = 0; j < k; j++)
            {
                var from = heatmaps.Data.AsSpan((b * k + flipIndices[j]) * plane, plane);
                var to = result.AsSpan((b * k + j) * plane, plane);
                for (int y = 0; y < h; y++)
                {
                    for (int x = 0; x < w; x++)
                    {
                        // Mirrored column x is source column w - 1 - x; after the shift column x shows column x - 1.
                        int mirrored = doShift && x > 0 ? x - 1 : x;
                        to[y * w + x] = from[y * w + (w - 1 - mirrored)];
                    }
                }
            }
        }
        return new ShapedArray(result, heatmaps.Shape);
    }

    /// <inheritdoc cref="FlipBack(ShapedArray, IReadOnlyList{int}, bool?)"/>
    public Tensor FlipBack(Tensor heatmaps, IReadOnlyList<int> flipIndices, bool? shift = null)
    {
        ArgumentNullException.ThrowIfNull(heatmaps);
        if (heatmaps.Dim != 4) throw new ArgumentException($"{TypeName}.FlipBack: expected (N, K, H, W) heatmaps, got {heatmaps}");
        CodecChecks.FlipIndices(TypeName, flipIndices, checked((int)heatmaps.Size(1)));
        return FlipTensors.Heatmaps(heatmaps, flipIndices, shift ?? ShiftHeatmapOnFlip);
    }

    public IReadOnlyList<ShapedArray> FlipBack(IReadOnlyList<ShapedArray> outputs, IReadOnlyList<int> flipIndices)
    {
        CodecChecks.OutputCount(TypeName, outputs, 1, "heatmaps");
        return [FlipBack(outputs[0], flipIndices)];
    }

    public IReadOnlyList<Tensor> FlipBack(IReadOnlyList<Tensor> outputs, IReadOnlyList<int> flipIndices)
    {
        CodecChecks.OutputCount(TypeName, outputs, 1, "heatmaps");
        return [FlipBack(outputs[0], flipIndices)];
    }
}
