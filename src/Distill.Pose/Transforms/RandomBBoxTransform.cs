namespace Distill.Pose.Transforms;

/// <summary>
/// mmpose's <c>RandomBBoxTransform</c>: four standard normals truncated to [-1, 1] give the shift (x, y), the scale
/// and the rotation; each part applies with its own probability. Shift = t x factor x box size; scale = mid + t x
/// half-range of the scale factor range; rotation = t x rotate factor degrees.
/// </summary>
public static class RandomBBoxTransform
{
    public static void Apply(TopdownInstance instance, TopdownAugmentation options, SampleRandom random)
    {
        ArgumentNullException.ThrowIfNull(instance);
        ArgumentNullException.ThrowIfNull(options);
        double tx = random.TruncatedNormal(), ty = random.TruncatedNormal();
        double ts = random.TruncatedNormal(), tr = random.TruncatedNormal();
        bool shift = random.Chance(options.ShiftProb);
        bool scale = random.Chance(options.ScaleProb);
        bool rotate = random.Chance(options.RotateProb);

        var (w, h) = instance.Scale;
        if (shift)
            instance.Center = (instance.Center.X + tx * options.ShiftFactor * w, instance.Center.Y + ty * options.ShiftFactor * h);
        if (scale)
        {
            var (min, max) = options.ScaleFactor;
            double s = ts * (max - min) * 0.5 + (max + min) * 0.5;
            instance.Scale = (w * s, h * s);
        }
        instance.Rotation = rotate ? tr * options.RotateFactor : 0;
    }
}
