using Distill.Torch.Vision;

namespace Distill.Pose.Transforms;

/// <summary>
/// The top-down training pipeline of mmpose's RTMPose configs, for one sample: box to centre and scale (padding),
/// random flip, random half body, random box shift/scale/rotation, affine crop with the aspect ratio fixed to the
/// input's, HSV jitter, blur, median blur, coarse dropout, normalisation and target encoding. Optional teacher crops
/// share the student's centre, rotation, flip and pixel augmentation.
/// </summary>
/// <remarks>
/// Thread-safe: all state lives in the arguments. Every random draw comes from the <see cref="SampleRandom"/> passed
/// in, in a fixed order, so (seed, epoch, sample index) determines the result. The flip is folded into the warp
/// matrix instead of mirroring the whole image first; with bilinear sampling the two agree up to OpenCV's 1/32 px
/// coordinate quantisation.
/// </remarks>
public sealed class TopdownPipeline
{
    private readonly ImageNormalization _normalization;

    public TopdownPipeline(TopdownPipelineOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate();
        if (errors.Count > 0) throw new ArgumentException("invalid top-down pipeline options: " + string.Join("; ", errors), nameof(options));
        Options = options;
        _normalization = new ImageNormalization(options.Mean, options.Std);
    }

    public TopdownPipelineOptions Options { get; }

    public (int Width, int Height) InputSize => Options.InputSize;

    /// <summary>Runs the pipeline with the stream of (seed, epoch, sampleIndex).</summary>
    public TopdownResult Process(TopdownSample sample, Image image, TopdownAugmentation augmentation, ulong seed, long epoch, long sampleIndex) =>
        Process(sample, image, augmentation, new SampleRandom(seed, epoch, sampleIndex));

    public TopdownResult Process(TopdownSample sample, Image image, TopdownAugmentation augmentation, SampleRandom random)
    {
        ArgumentNullException.ThrowIfNull(sample);
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(augmentation);
        ArgumentNullException.ThrowIfNull(random);
        sample.Validate();
        if (image.Channels != 3) throw new ArgumentException($"{sample.Describe()}: expected an RGB image, got {image.Channels} channels");
        int k = sample.NumKeypoints;
        if (Options.FlipIndices is not null && Options.FlipIndices.Count != k)
            throw new ArgumentException($"{sample.Describe()}: {k} keypoints, but the pipeline's flip indices describe {Options.FlipIndices.Count}");
        if (augmentation.FlipProb > 0 && Options.FlipIndices is null)
            throw new InvalidOperationException("random flip is on but the pipeline options have no flip indices");

        var (x, y, w, h) = sample.Bbox;
        var (center, scale) = BBoxCenterScale.FromXywh(x, y, w, h, Options.Padding);
        var weights = sample.KeypointWeights is null ? Enumerable.Repeat(1f, k).ToArray() : (float[])sample.KeypointWeights.Clone();
        var instance = new TopdownInstance(image.Width, image.Height, center, scale,
            (float[])sample.Keypoints.Clone(), (float[])sample.Visibility.Clone(), weights);

        // Geometric steps, in mmpose's order. Each always consumes the same draws, whatever its probability.
        bool flip = random.Chance(augmentation.FlipProb);
        if (flip) RandomFlip.Flip(instance, Options.FlipIndices!);
        var halfBody = RandomHalfBody.Apply(instance, Options.UpperBodyIds, Options.LowerBodyIds, augmentation, random);
        RandomBBoxTransform.Apply(instance, augmentation, random);

        // TopdownAffine
        var inputSize = Options.InputSize;
        var fixedScale = BBoxCenterScale.FixAspectRatio(instance.Scale, (double)inputSize.Width / inputSize.Height);
        var geometry = new CropGeometry(instance.Center, fixedScale, instance.Rotation, instance.Flipped, image.Width, inputSize);
        var crop = image.WarpAffine(geometry.ImageToCropMatrix.ToArray(), inputSize.Width, inputSize.Height, bilinear: true);
        var keypoints = new float[2 * k];
        geometry.WarpMatrix.Apply(instance.Keypoints, keypoints);

        var pixel = PixelAugmentation.Draw(augmentation, inputSize, random);
        pixel.Apply(crop);

        var teachers = new List<TeacherCrop>(Options.TeacherInputSizes.Count);
        foreach (var size in Options.TeacherInputSizes)
        {
            var tg = TeacherView.Geometry(geometry, size);
            var tcrop = image.WarpAffine(tg.ImageToCropMatrix.ToArray(), size.Width, size.Height, bilinear: true);
            var map = TeacherView.StudentToTeacher(geometry, tg);
            pixel.Apply(tcrop, map);
            teachers.Add(new TeacherCrop(tg, tcrop, _normalization.ToChw(tcrop), map));
        }

        return new TopdownResult
        {
            Sample = sample,
            Geometry = geometry,
            Crop = crop,
            Input = _normalization.ToChw(crop),
            Keypoints = keypoints,
            Visibility = instance.Visibility,
            KeypointWeights = instance.KeypointWeights,
            Target = Options.Codec?.Encode(keypoints, instance.Visibility),
            Teachers = teachers,
            PixelAugmentation = pixel,
            HalfBodyIds = halfBody,
        };
    }
}
