namespace Distill.Pose.Transforms;

/// <summary>
/// Where a top-down crop came from: enough to map any point between the source image and the crop, both ways.
/// </summary>
/// <remarks>
/// As in mmpose, a flip mirrors the source image first (x -> <see cref="ImageWidth"/> - 1 - x) and the box then lives
/// in the mirrored image: <see cref="Center"/> is given in mirrored coordinates when <see cref="Flipped"/> is set
/// (mmpose's <c>input_center</c>). <see cref="ImageToCrop(double, double)"/> and friends take and return points of the
/// original, unmirrored image. <see cref="Scale"/> already has the output's aspect ratio. Mapping moves points only:
/// a flipped crop also swaps left and right keypoint identities, which is the flip indices' business.
/// </remarks>
public sealed record CropGeometry
{
    public CropGeometry((double X, double Y) center, (double Width, double Height) scale, double rotation, bool flipped,
        int imageWidth, (int Width, int Height) outputSize)
    {
        if (imageWidth <= 0) throw new ArgumentOutOfRangeException(nameof(imageWidth), imageWidth, "image width must be positive");
        Center = center;
        Scale = scale;
        Rotation = rotation;
        Flipped = flipped;
        ImageWidth = imageWidth;
        OutputSize = outputSize;
        // Validates the numbers once, here, rather than on first use.
        _ = Transforms.WarpMatrix.Get(center, scale, rotation, outputSize);
    }

    /// <summary>Box centre in the image the warp samples from (mirrored when <see cref="Flipped"/>).</summary>
    public (double X, double Y) Center { get; init; }

    /// <summary>Box size (w, h) in source pixels, aspect already fixed to the output's.</summary>
    public (double Width, double Height) Scale { get; init; }

    /// <summary>Box rotation in degrees, as mmpose's <c>bbox_rotation</c>.</summary>
    public double Rotation { get; init; }

    public bool Flipped { get; init; }

    /// <summary>Width of the source image, which the mirror needs.</summary>
    public int ImageWidth { get; init; }

    /// <summary>Crop size (w, h) in pixels.</summary>
    public (int Width, int Height) OutputSize { get; init; }

    /// <summary>mmpose's warp matrix: (mirrored, when flipped) image to crop.</summary>
    public AffineMatrix WarpMatrix => Transforms.WarpMatrix.Get(Center, Scale, Rotation, OutputSize);

    /// <summary>Original image to crop, the mirror included.</summary>
    public AffineMatrix ImageToCropMatrix => Flipped ? WarpMatrix * AffineMatrix.MirrorX(ImageWidth) : WarpMatrix;

    /// <summary>Crop to original image.</summary>
    public AffineMatrix CropToImageMatrix => ImageToCropMatrix.Invert();

    /// <summary>Crop pixels per source pixel (the same on both axes).</summary>
    public double PixelsPerSourcePixel => OutputSize.Width / Scale.Width;

    public (double X, double Y) ImageToCrop(double x, double y) => ImageToCropMatrix.Apply(x, y);

    public (double X, double Y) CropToImage(double x, double y) => CropToImageMatrix.Apply(x, y);

    /// <summary>Maps (x, y) pairs from the original image into the crop.</summary>
    public void ImageToCrop(ReadOnlySpan<float> points, Span<float> destination) => ImageToCropMatrix.Apply(points, destination);

    /// <summary>Maps (x, y) pairs from the crop back into the original image.</summary>
    public void CropToImage(ReadOnlySpan<float> points, Span<float> destination) => CropToImageMatrix.Apply(points, destination);

    /// <summary>Centre of the box in original image coordinates.</summary>
    public (double X, double Y) CenterInImage => Flipped ? (ImageWidth - 1 - Center.X, Center.Y) : Center;
}
