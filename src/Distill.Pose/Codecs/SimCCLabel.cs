using Distill.Torch;

namespace Distill.Pose.Codecs;

/// <summary>
/// SimCC coordinate classification (mmpose <c>SimCCLabel</c>): each axis is split into input size x
/// <see cref="SplitRatio"/> bins and a keypoint becomes one label vector per axis.
/// </summary>
/// <remarks>
/// Encoding: the bin is round(keypoint x ratio) with halves to even (numpy's around); the Gaussian label is
/// exp(-(i - bin)^2 / (2 sigma^2)) with peak 1, divided by sigma * sqrt(2 pi) when <see cref="Normalize"/> is set
/// (mmpose's default; RTMPose configs turn it off). Keypoints with visibility below 0.5 get zero labels and weight
/// 0, and so does a keypoint whose 3-sigma window lies entirely outside the bins (mmpose's test compares the left
/// and top window edges with the bin counts and the right and bottom edges with 0). Other keypoints keep their
/// visibility as weight.
/// Decoding: arg-max bin per axis divided by the ratio; the score is the smaller of the two maxima on the raw
/// outputs, and a score of 0 or less marks the keypoint invalid at bin -1, i.e. (-1 / ratio, -1 / ratio).
/// </remarks>
public sealed class SimCCLabel : IKeypointCodec
{
    public const string Name = "SimCCLabel";

    public SimCCLabel((int Width, int Height) inputSize, double sigma = 6.0, double splitRatio = 2.0, bool normalize = true,
        SimCCSmoothing smoothing = SimCCSmoothing.Gaussian, double labelSmoothWeight = 0.0)
        : this(inputSize, (sigma, sigma), splitRatio, normalize, smoothing, labelSmoothWeight)
    {
    }

    public SimCCLabel((int Width, int Height) inputSize, (double X, double Y) sigma, double splitRatio = 2.0, bool normalize = true,
        SimCCSmoothing smoothing = SimCCSmoothing.Gaussian, double labelSmoothWeight = 0.0)
    {
        if (inputSize.Width <= 0 || inputSize.Height <= 0)
            throw new ArgumentOutOfRangeException(nameof(inputSize), inputSize, "input size must be positive");
        if (!(sigma.X > 0) || !(sigma.Y > 0)) throw new ArgumentOutOfRangeException(nameof(sigma), sigma, "sigma must be positive");
        if (!(splitRatio > 0)) throw new ArgumentOutOfRangeException(nameof(splitRatio), splitRatio, "split ratio must be positive");
        if (!(labelSmoothWeight >= 0 && labelSmoothWeight <= 1))
            throw new ArgumentOutOfRangeException(nameof(labelSmoothWeight), labelSmoothWeight, "label smoothing weight must be in [0, 1]");
        if (smoothing == SimCCSmoothing.Gaussian && labelSmoothWeight > 0)
            throw new ArgumentException("label smoothing weight applies only to standard (one-hot) smoothing", nameof(labelSmoothWeight));
        InputSize = inputSize;
        Sigma = sigma;
        SplitRatio = splitRatio;
        Normalize = normalize;
        Smoothing = smoothing;
        LabelSmoothWeight = labelSmoothWeight;
        XBins = (int)Math.Round(inputSize.Width * splitRatio, MidpointRounding.ToEven);
        YBins = (int)Math.Round(inputSize.Height * splitRatio, MidpointRounding.ToEven);
    }

    public string TypeName => Name;

    public (int Width, int Height) InputSize { get; }

    /// <summary>Label sigma per axis, in bins.</summary>
    public (double X, double Y) Sigma { get; }

    public double SplitRatio { get; }

    public bool Normalize { get; }

    public SimCCSmoothing Smoothing { get; }

    public double LabelSmoothWeight { get; }

    /// <summary>Number of x bins, round(width x ratio).</summary>
    public int XBins { get; }

    /// <summary>Number of y bins, round(height x ratio).</summary>
    public int YBins { get; }

    /// <summary>
    /// Returns <see cref="TargetNames.KeypointXLabels"/> (K, XBins), <see cref="TargetNames.KeypointYLabels"/>
    /// (K, YBins) and <see cref="TargetNames.KeypointWeights"/> (K).
    /// </summary>
    public EncodedTarget Encode(ReadOnlySpan<float> keypoints, ReadOnlySpan<float> visibility)
    {
        int k = CodecChecks.KeypointCount(Name, keypoints, visibility);
        var xLabels = new float[k * XBins];
        var yLabels = new float[k * YBins];
        var weights = new float[k];
        float ratio = (float)SplitRatio;

        for (int i = 0; i < k; i++)
        {
            if (visibility[i] < 0.5f) continue;
            weights[i] = visibility[i];
            long muX = (long)MathF.Round(keypoints[2 * i] * ratio, MidpointRounding.ToEven);
            long muY = (long)MathF.Round(keypoints[2 * i + 1] * ratio, MidpointRounding.ToEven);
            var rowX = xLabels.AsSpan(i * XBins, XBins);
            var rowY = yLabels.AsSpan(i * YBins, YBins);
            bool inside = Smoothing == SimCCSmoothing.Gaussian
                ? DrawGaussian(rowX, muX, Sigma.X, rowY, muY, Sigma.Y)
                : DrawOneHot(rowX, muX, rowY, muY);
            if (!inside) weights[i] = 0f;
        }

        if (Smoothing == SimCCSmoothing.Gaussian && Normalize)
        {
            float normX = (float)(Sigma.X * Math.Sqrt(2 * Math.PI));
            float normY = (float)(Sigma.Y * Math.Sqrt(2 * Math.PI));
            for (int i = 0; i < xLabels.Length; i++) xLabels[i] /= normX;
            for (int i = 0; i < yLabels.Length; i++) yLabels[i] /= normY;
        }

        return new EncodedTarget([
            new(TargetNames.KeypointXLabels, new ShapedArray(xLabels, k, XBins)),
            new(TargetNames.KeypointYLabels, new ShapedArray(yLabels, k, YBins)),
            new(TargetNames.KeypointWeights, new ShapedArray(weights, k)),
        ]);
    }

    private bool DrawGaussian(Span<float> rowX, long muX, double sigmaX, Span<float> rowY, long muY, double sigmaY)
    {
        // 3-sigma window test, mixing the axes exactly as mmpose does.
        double rx = sigmaX * 3, ry = sigmaY * 3;
        if (muX - rx >= XBins || muY - ry >= YBins || muX + rx + 1 < 0 || muY + ry + 1 < 0) return false;
        Fill(rowX, muX, sigmaX);
        Fill(rowY, muY, sigmaY);
        return true;

        static void Fill(Span<float> row, long mu, double sigma)
        {
            float denominator = (float)(2 * sigma * sigma);
            for (int i = 0; i < row.Length; i++)
            {
                float d = i - mu;
                row[i] = NumpyFloat32.Exp(-(d * d) / denominator);
            }
        }
    }

    private bool DrawOneHot(Span<float> rowX, long muX, Span<float> rowY, long muY)
    {
        if (muX >= XBins || muY >= YBins || muX < 0 || muY < 0) return false;
        if (LabelSmoothWeight > 0)
        {
            rowX.Fill((float)(LabelSmoothWeight / (XBins - 1)));
            rowY.Fill((float)(LabelSmoothWeight / (YBins - 1)));
        }
        rowX[(int)muX] = (float)(1.0 - LabelSmoothWeight);
        rowY[(int)muY] = (float)(1.0 - LabelSmoothWeight);
        return true;
    }

    /// <summary>Decodes x outputs (N, K, XBins) and y outputs (N, K, YBins); (K, bins) is read as N = 1.</summary>
    public DecodedKeypoints Decode(ShapedArray simccX, ShapedArray simccY)
    {
        var (n, k) = CodecChecks.BatchShape(Name, "x output", simccX, 1);
        var (ny, ky) = CodecChecks.BatchShape(Name, "y output", simccY, 1);
        if (n != ny || k != ky)
            throw new ArgumentException($"{Name}.Decode: x output [{string.Join(", ", simccX.Shape)}] and y output [{string.Join(", ", simccY.Shape)}] disagree on N or K");
        int wx = simccX.Size(-1), wy = simccY.Size(-1);
        if (wx != XBins || wy != YBins)
            throw new ArgumentException($"{Name}.Decode: outputs have {wx} x bins and {wy} y bins; this codec has {XBins} and {YBins}");

        var keypoints = new float[n, k, 2];
        var scores = new float[n, k];
        float ratio = (float)SplitRatio;
        for (int b = 0; b < n; b++)
        {
            for (int j = 0; j < k; j++)
            {
                int row = b * k + j;
                var (ix, maxX) = Maxima.ArgMax(simccX.Data.AsSpan(row * wx, wx));
                var (iy, maxY) = Maxima.ArgMax(simccY.Data.AsSpan(row * wy, wy));
                // mmpose keeps the x maximum unless the y maximum is strictly smaller (so NaN in x wins).
                float score = maxX > maxY ? maxY : maxX;
                float lx = ix, ly = iy;
                if (score <= 0f) lx = ly = -1f;
                keypoints[b, j, 0] = lx / ratio;
                keypoints[b, j, 1] = ly / ratio;
                scores[b, j] = score;
            }
        }
        return new DecodedKeypoints(keypoints, scores);
    }

    public DecodedKeypoints Decode(Tensor simccX, Tensor simccY) =>
        Decode(ShapedArray.FromTensor(simccX), ShapedArray.FromTensor(simccY));

    /// <summary>Outputs are (x, y).</summary>
    public DecodedKeypoints Decode(params IReadOnlyList<ShapedArray> outputs)
    {
        CodecChecks.OutputCount(Name, outputs, 2, "x logits, y logits");
        return Decode(outputs[0], outputs[1]);
    }

    /// <summary>Outputs are (x, y).</summary>
    public DecodedKeypoints Decode(params IReadOnlyList<Tensor> outputs)
    {
        CodecChecks.OutputCount(Name, outputs, 2, "x logits, y logits");
        return Decode(outputs[0], outputs[1]);
    }

    /// <summary>
    /// mmpose's flip_vectors: swap channels by <paramref name="flipIndices"/>, reverse the x bins, keep y. Bin i of
    /// the mirrored input maps to bin XBins - 1 - i, i.e. x' = (XBins - 1) / ratio - x.
    /// </summary>
    public (ShapedArray X, ShapedArray Y) FlipBack(ShapedArray simccX, ShapedArray simccY, IReadOnlyList<int> flipIndices)
    {
        var (n, k) = CodecChecks.BatchShape(Name, "x output", simccX, 1);
        var (ny, ky) = CodecChecks.BatchShape(Name, "y output", simccY, 1);
        if (n != ny || k != ky)
            throw new ArgumentException($"{Name}.FlipBack: x output [{string.Join(", ", simccX.Shape)}] and y output [{string.Join(", ", simccY.Shape)}] disagree on N or K");
        CodecChecks.FlipIndices(Name, flipIndices, k);
        int wx = simccX.Size(-1), wy = simccY.Size(-1);
        var x = new float[simccX.Length];
        var y = new float[simccY.Length];
        for (int b = 0; b < n; b++)
        {
            for (int j = 0; j < k; j++)
            {
                int src = b * k + flipIndices[j], dst = b * k + j;
                var from = simccX.Data.AsSpan(src * wx, wx);
                var to = x.AsSpan(dst * wx, wx);
                for (int i = 0; i < wx; i++) to[i] = from[wx - 1 - i];
                simccY.Data.AsSpan(src * wy, wy).CopyTo(y.AsSpan(dst * wy, wy));
            }
        }
        return (new ShapedArray(x, simccX.Shape), new ShapedArray(y, simccY.Shape));
    }

    /// <inheritdoc cref="FlipBack(ShapedArray, ShapedArray, IReadOnlyList{int})"/>
    public (Tensor X, Tensor Y) FlipBack(Tensor simccX, Tensor simccY, IReadOnlyList<int> flipIndices)
    {
        ArgumentNullException.ThrowIfNull(simccX);
        ArgumentNullException.ThrowIfNull(simccY);
        if (simccX.Dim != 3 || simccY.Dim != 3)
            throw new ArgumentException($"{Name}.FlipBack: expected (N, K, bins) outputs, got {simccX} and {simccY}");
        CodecChecks.FlipIndices(Name, flipIndices, checked((int)simccX.Size(1)));
        using var index = FlipTensors.IndexTensor(flipIndices, simccX.Device);
        using var swapped = simccX.IndexSelect(1, index);
        return (swapped.Flip(-1), simccY.IndexSelect(1, index));
    }

    public IReadOnlyList<ShapedArray> FlipBack(IReadOnlyList<ShapedArray> outputs, IReadOnlyList<int> flipIndices)
    {
        CodecChecks.OutputCount(Name, outputs, 2, "x logits, y logits");
        var (x, y) = FlipBack(outputs[0], outputs[1], flipIndices);
        return [x, y];
    }

    public IReadOnlyList<Tensor> FlipBack(IReadOnlyList<Tensor> outputs, IReadOnlyList<int> flipIndices)
    {
        CodecChecks.OutputCount(Name, outputs, 2, "x logits, y logits");
        var (x, y) = FlipBack(outputs[0], outputs[1], flipIndices);
        return [x, y];
    }
}
