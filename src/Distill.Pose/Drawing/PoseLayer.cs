namespace Distill.Pose.Drawing;

/// <summary>One pose to draw: (x, y) pairs, one score or visibility per keypoint, 0-based links and the look.</summary>
public sealed record PoseLayer(
    double[] Keypoints,
    double[] Scores,
    IReadOnlyList<(int A, int B)> Skeleton,
    (byte R, byte G, byte B) Colour,
    double Radius = 3,
    int Thickness = 2,
    double KptThreshold = 0.3)
{
    /// <summary>
    /// A pose from the first <paramref name="count"/> COCO-style (x, y, score or visibility) triples, the form of
    /// annotation files, results files and decoded bottom-up poses.
    /// </summary>
    public static PoseLayer FromTriples(ReadOnlySpan<double> triples, int count, IReadOnlyList<(int A, int B)> skeleton,
        (byte R, byte G, byte B) colour, double radius = 3, int thickness = 2, double kptThreshold = 0.3)
    {
        if (triples.Length < 3 * count) throw new ArgumentException($"{triples.Length} values hold fewer than {count} (x, y, score) triples", nameof(triples));
        var xy = new double[2 * count];
        var scores = new double[count];
        for (int k = 0; k < count; k++)
        {
            xy[2 * k] = triples[3 * k];
            xy[2 * k + 1] = triples[3 * k + 1];
            scores[k] = triples[3 * k + 2];
        }
        return new PoseLayer(xy, scores, skeleton, colour, radius, thickness, kptThreshold);
    }
}
