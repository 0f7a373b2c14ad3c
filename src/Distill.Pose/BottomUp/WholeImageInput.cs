using Distill.Pose.BottomUp.Decoding;
using Distill.Pose.Evaluation;
using Distill.Pose.Transforms;
using Distill.Torch.Vision;

namespace Distill.Pose.BottomUp;

/// <summary>
/// Where a whole image lands in a bottom-up model's input: scaled by <see cref="Scale"/> (aspect kept) so that it
/// fits the input size, at the top-left corner, the rest padded. Input pixel p shows image pixel p / Scale (pixel
/// indices, as the affine warp maps them), so decoded poses map back by one division.
/// </summary>
public readonly record struct WholeImageGeometry(int ImageWidth, int ImageHeight, int InputWidth, int InputHeight, double Scale)
{
    /// <summary>The largest scale at which the image fits the input.</summary>
    public static WholeImageGeometry Fit(int imageWidth, int imageHeight, (int Width, int Height) input)
    {
        if (imageWidth < 1 || imageHeight < 1) throw new ArgumentException($"image size {imageWidth}x{imageHeight} must be positive");
        if (input.Width < 1 || input.Height < 1) throw new ArgumentException($"input size {input.Width}x{input.Height} must be positive");
        double scale = Math.Min((double)input.Width / imageWidth, (double)input.Height / imageHeight);
        return new WholeImageGeometry(imageWidth, imageHeight, input.Width, input.Height, scale);
    }

    /// <summary>Input columns and rows the scaled image covers (the rest is padding).</summary>
    public int ContentWidth => Math.Clamp((int)Math.Ceiling(ImageWidth * Scale - 1e-6), 1, InputWidth);

    public int ContentHeight => Math.Clamp((int)Math.Ceiling(ImageHeight * Scale - 1e-6), 1, InputHeight);

    public (double X, double Y) ImageToInput(double x, double y) => (x * Scale, y * Scale);

    public (double X, double Y) InputToImage(double x, double y) => (x / Scale, y / Scale);

    /// <summary>
    /// A decoded pose (input pixels) as a COCO result in image pixels. Positions are clamped to the image: the padding
    /// is not part of it, and a force-completed joint can be copied there from a neighbour.
    /// </summary>
    public CocoKeypointResult ToImage(DecodedPose pose, long imageId)
    {
        var k = new double[pose.Keypoints.Length];
        for (int i = 0; i < pose.KeypointCount; i++)
        {
            var (x, y) = InputToImage(pose.Keypoints[3 * i], pose.Keypoints[3 * i + 1]);
            k[3 * i] = Math.Clamp(x, 0, ImageWidth);
            k[3 * i + 1] = Math.Clamp(y, 0, ImageHeight);
            k[3 * i + 2] = pose.Keypoints[3 * i + 2];
        }
        return new CocoKeypointResult(imageId, k, pose.Score);
    }
}

/// <summary>
/// Whole-image preprocessing of bottom-up inference: no boxes and no crops. The image is scaled to fit the model's
/// input size (a fixed size, so images batch together and exported graphs stay static), normalised, and padded
/// with zeros, which is the mean colour after normalisation (OpenPifPaf pads with the mean colour too).
/// </summary>
public static class WholeImageInput
{
    /// <summary>Writes the normalised 3 x H x W input of <paramref name="image"/> into <paramref name="destination"/>.</summary>
    public static WholeImageGeometry Prepare(Image image, (int Width, int Height) inputSize, ImageNormalization normalization, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(normalization);
        var g = WholeImageGeometry.Fit(image.Width, image.Height, inputSize);
        int plane = inputSize.Width * inputSize.Height;
        if (destination.Length < 3 * plane) throw new ArgumentException($"destination holds {destination.Length} floats, need {3 * plane}");
        int cw = g.ContentWidth, ch = g.ContentHeight;
        var scaled = image.WarpAffine([g.Scale, 0, 0, 0, g.Scale, 0], cw, ch, bilinear: true);
        var chw = normalization.ToChw(scaled);
        destination[..(3 * plane)].Clear();
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < ch; y++)
                chw.AsSpan(c * cw * ch + y * cw, cw).CopyTo(destination.Slice(c * plane + y * inputSize.Width, cw));
        return g;
    }

    public static (float[] Input, WholeImageGeometry Geometry) Prepare(Image image, (int Width, int Height) inputSize, ImageNormalization normalization)
    {
        var data = new float[3 * inputSize.Width * inputSize.Height];
        var g = Prepare(image, inputSize, normalization, data);
        return (data, g);
    }
}
