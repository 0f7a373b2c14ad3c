namespace Distill.Pose.BottomUp.Encoders;

/// <summary>
/// One person (or crowd region) of an image as the field encoders read it, in input-image pixels.
/// </summary>
/// <param name="Keypoints">K x (x, y, v) flattened, COCO style: v 0 unlabelled, 1 labelled but occluded, 2 visible.</param>
/// <param name="Bbox">(x, y, w, h); it masks crowds and persons without a labelled keypoint.</param>
/// <param name="IsCrowd">Crowd regions give no targets, only a mask.</param>
public sealed record FieldAnnotation(float[] Keypoints, (double X, double Y, double W, double H) Bbox, bool IsCrowd = false)
{
    public int KeypointCount => Keypoints.Length / 3;

    /// <summary>True when at least one keypoint is labelled.</summary>
    public bool HasLabelledKeypoint
    {
        get
        {
            for (int i = 2; i < Keypoints.Length; i += 3)
                if (Keypoints[i] > 0) return true;
            return false;
        }
    }

    /// <summary>The same person mirrored in an image of the given width (pixel x becomes width - 1 - x), joints
    /// renamed through <paramref name="keypointFlip"/>.</summary>
    public FieldAnnotation HFlip(int imageWidth, IReadOnlyList<int> keypointFlip)
    {
        int k = KeypointCount;
        if (keypointFlip.Count != k) throw new ArgumentException($"{keypointFlip.Count} flip indices for {k} keypoints", nameof(keypointFlip));
        var flipped = new float[Keypoints.Length];
        for (int j = 0; j < k; j++)
        {
            int to = keypointFlip[j];
            flipped[3 * to] = Keypoints[3 * j + 2] > 0 ? imageWidth - 1 - Keypoints[3 * j] : Keypoints[3 * j];
            flipped[3 * to + 1] = Keypoints[3 * j + 1];
            flipped[3 * to + 2] = Keypoints[3 * j + 2];
        }
        var b = Bbox;
        // The box mirrors like its pixels: its right edge x + w lands on width - 1 - (x + w).
        return new FieldAnnotation(flipped, (imageWidth - 1 - b.X - b.W, b.Y, b.W, b.H), IsCrowd);
    }
}
