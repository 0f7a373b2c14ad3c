using Distill.Torch;

namespace Distill.Pose.Codecs;

/// <summary>
/// Converts keypoints of one instance into a training target and network outputs back into keypoints, with
/// mmpose's conventions. Implementations are immutable and safe to share between data-loader threads.
/// </summary>
/// <remarks>
/// Network outputs travel as an ordered list: SimCC takes (x logits (N, K, Wx), y logits (N, K, Wy)); heatmap
/// codecs take (heatmaps (N, K, H, W)); regression takes (coordinates (N, K, 2) or (N, K, 4) with sigmas).
/// A single instance may drop the leading N.
/// </remarks>
public interface IKeypointCodec
{
    /// <summary>The config type name (mmpose's registry name), e.g. <c>SimCCLabel</c>.</summary>
    string TypeName { get; }

    /// <summary>Network input size in pixels.</summary>
    (int Width, int Height) InputSize { get; }

    /// <summary>
    /// Encodes one instance: <paramref name="keypoints"/> holds K (x, y) pairs in input-image pixels,
    /// <paramref name="visibility"/> K values (below 0.5 means not labelled).
    /// </summary>
    EncodedTarget Encode(ReadOnlySpan<float> keypoints, ReadOnlySpan<float> visibility);

    /// <summary>Decodes a batch of network outputs into input-image keypoints and scores.</summary>
    DecodedKeypoints Decode(params IReadOnlyList<ShapedArray> outputs);

    /// <summary>Decodes a batch of network outputs (copied to the CPU; decoding is cheap).</summary>
    DecodedKeypoints Decode(params IReadOnlyList<Tensor> outputs);

    /// <summary>
    /// Maps outputs predicted on the horizontally mirrored input back onto the original: swaps left/right channels
    /// by <paramref name="flipIndices"/> and mirrors the x axis as mmpose's flip test does for this codec.
    /// </summary>
    IReadOnlyList<ShapedArray> FlipBack(IReadOnlyList<ShapedArray> outputs, IReadOnlyList<int> flipIndices);

    /// <inheritdoc cref="FlipBack(IReadOnlyList{ShapedArray}, IReadOnlyList{int})"/>
    IReadOnlyList<Tensor> FlipBack(IReadOnlyList<Tensor> outputs, IReadOnlyList<int> flipIndices);
}
