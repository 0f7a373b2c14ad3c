using Distill.Torch;

namespace Distill.Pose.Codecs;

/// <summary>
/// mmpose's <c>RegressionLabel</c>: keypoints as coordinates normalised by the input size, (x / w, y / h).
/// </summary>
/// <remarks>
/// A keypoint gets weight 1 when it is labelled (visibility above 0.5) and lies inside [0, w - 1] x [0, h - 1],
/// else 0. Decoding multiplies by (w, h); outputs of (N, K, 4) carry per-axis sigmas (RLE) and score
/// 1 - mean(sigma), otherwise every score is 1.
/// </remarks>
public sealed class RegressionLabel : IKeypointCodec
{
    public const string Name = "RegressionLabel";

    public RegressionLabel((int Width, int Height) inputSize)
    {
        if (inputSize.Width <= 0 || inputSize.Height <= 0)
            throw new ArgumentOutOfRangeException(nameof(inputSize), inputSize, "input size must be positive");
        InputSize = inputSize;
    }

    public string TypeName => Name;

    public (int Width, int Height) InputSize { get; }

    /// <summary>Returns <see cref="TargetNames.KeypointLabels"/> (K, 2) and <see cref="TargetNames.KeypointWeights"/> (K).</summary>
    public EncodedTarget Encode(ReadOnlySpan<float> keypoints, ReadOnlySpan<float> visibility)
    {
        int k = CodecChecks.KeypointCount(Name, keypoints, visibility);
        var (w, h) = InputSize;
        var labels = new float[2 * k];
        var weights = new float[k];
        for (int i = 0; i < k; i++)
        {
            float x = keypoints[2 * i], y = keypoints[2 * i + 1];
            labels[2 * i] = (float)((double)x / w);
            labels[2 * i + 1] = (float)((double)y / h);
            bool inside = x >= 0 && x <= w - 1 && y >= 0 && y <= h - 1;
            weights[i] = inside && visibility[i] > 0.5f ? 1f : 0f;
        }
        return new EncodedTarget([
            new(TargetNames.KeypointLabels, new ShapedArray(labels, k, 2)),
            new(TargetNames.KeypointWeights, new ShapedArray(weights, k)),
        ]);
    }

    /// <summary>Decodes (N, K, 2) coordinates or (N, K, 4) coordinates with sigmas; (K, D) is read as N = 1.</summary>
    public DecodedKeypoints Decode(ShapedArray coordinates)
    {
        var (n, k) = CodecChecks.BatchShape(Name, "coordinates", coordinates, 1);
        int d = coordinates.Size(-1);
        if (d != 2 && d != 4)
            throw new ArgumentException($"{Name}.Decode: the last dimension must be 2 (x, y) or 4 (x, y, sigma x, sigma y), got shape [{string.Join(", ", coordinates.Shape)}]");
        var (w, h) = InputSize;
        var keypoints = new float[n, k, 2];
        var scores = new float[n, k];
        for (int b = 0; b < n; b++)
        {
            for (int j = 0; j < k; j++)
            {
                var c = coordinates.Data.AsSpan((b * k + j) * d, d);
                keypoints[b, j, 0] = (float)(c[0] * (double)w);
                keypoints[b, j, 1] = (float)(c[1] * (double)h);
                scores[b, j] = d == 4 ? ((1f - c[2]) + (1f - c[3])) / 2f : 1f;
            }
        }
        return new DecodedKeypoints(keypoints, scores);
    }

    public DecodedKeypoints Decode(Tensor coordinates) => Decode(ShapedArray.FromTensor(coordinates));

    /// <summary>Outputs are (coordinates).</summary>
    public DecodedKeypoints Decode(params IReadOnlyList<ShapedArray> outputs)
    {
        CodecChecks.OutputCount(Name, outputs, 1, "coordinates");
        return Decode(outputs[0]);
    }

    /// <summary>Outputs are (coordinates).</summary>
    public DecodedKeypoints Decode(params IReadOnlyList<Tensor> outputs)
    {
        CodecChecks.OutputCount(Name, outputs, 1, "coordinates");
        return Decode(outputs[0]);
    }

    /// <summary>
    /// mmpose's flip_coordinates: x becomes 1 - x, minus one input pixel (1 / w) when <paramref name="shiftCoordinates"/>
    /// (the regression configs' shift_coords = True) so that pixel x maps to w - 1 - x; channels swap by
    /// <paramref name="flipIndices"/>. Sigma columns of (N, K, 4) outputs only swap.
    /// </summary>
    public ShapedArray FlipBack(ShapedArray coordinates, IReadOnlyList<int> flipIndices, bool shiftCoordinates = true)
    {
        var (n, k) = CodecChecks.BatchShape(Name, "coordinates", coordinates, 1);
        CodecChecks.FlipIndices(Name, flipIndices, k);
        int d = coordinates.Size(-1);
        float shift = shiftCoordinates ? (float)(1.0 / InputSize.Width) : 0f;
        var result = new float[coordinates.Length];
        for (int b = 0; b < n; b++)
        {
            for (int j = 0; j < k; j++)
            {
                var from = coordinates.Data.AsSpan((b * k + flipIndices[j]) * d, d);
                var to = result.AsSpan((b * k + j) * d, d);
                from.CopyTo(to);
                to[0] = (1f - from[0]) - shift;
            }
        }
        return new ShapedArray(result, coordinates.Shape);
    }

    /// <inheritdoc cref="FlipBack(ShapedArray, IReadOnlyList{int}, bool)"/>
    public Tensor FlipBack(Tensor coordinates, IReadOnlyList<int> flipIndices, bool shiftCoordinates = true)
    {
        ArgumentNullException.ThrowIfNull(coordinates);
        if (coordinates.Dim != 3) throw new ArgumentException($"{Name}.FlipBack: expected (N, K, D) coordinates, got {coordinates}");
        CodecChecks.FlipIndices(Name, flipIndices, checked((int)coordinates.Size(1)));
        return FlipTensors.Coordinates(coordinates, flipIndices, shiftCoordinates ? 1.0 / InputSize.Width : 0.0);
    }

    public IReadOnlyList<ShapedArray> FlipBack(IReadOnlyList<ShapedArray> outputs, IReadOnlyList<int> flipIndices)
    {
        CodecChecks.OutputCount(Name, outputs, 1, "coordinates");
        return [FlipBack(outputs[0], flipIndices)];
    }

    public IReadOnlyList<Tensor> FlipBack(IReadOnlyList<Tensor> outputs, IReadOnlyList<int> flipIndices)
    {
        CodecChecks.OutputCount(Name, outputs, 1, "coordinates");
        return [FlipBack(outputs[0], flipIndices)];
    }
}
