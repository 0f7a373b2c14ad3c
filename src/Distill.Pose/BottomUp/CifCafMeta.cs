using Distill.Pose.Keypoints;

namespace Distill.Pose.BottomUp;

/// <summary>
/// What the CIF and CAF fields of one keypoint set are made of: the joints (one CIF field each), the limbs (one CAF
/// field each, in channel order), OKS sigmas (joint scales), the upright reference pose (instance scale), the flip
/// permutations and the instance score weights. Everything derives from a <see cref="KeypointSet"/>; only the
/// upright pose and the score weights are extra data.
/// </summary>
public sealed class CifCafMeta
{
    private readonly double[] _sigmas;
    private readonly (int A, int B)[] _skeleton;
    private readonly int[] _keypointFlip;
    private readonly int[] _cafFlip;
    private readonly bool[] _cafFlipSwap;
    private readonly (double X, double Y)[] _upright;
    private readonly double[] _scoreWeights;

    public CifCafMeta(IReadOnlyList<string> keypointNames, IReadOnlyList<double> sigmas, IReadOnlyList<(int A, int B)> skeleton,
        IReadOnlyList<int> keypointFlip, IReadOnlyList<(double X, double Y)>? uprightPose = null, IReadOnlyList<double>? scoreWeights = null)
    {
        int k = keypointNames.Count;
        if (k == 0) throw new ArgumentException("at least one keypoint is needed", nameof(keypointNames));
        if (sigmas.Count != k) throw new ArgumentException($"{sigmas.Count} sigmas for {k} keypoints", nameof(sigmas));
        if (keypointFlip.Count != k) throw new ArgumentException($"{keypointFlip.Count} flip indices for {k} keypoints", nameof(keypointFlip));
        if (uprightPose is not null && uprightPose.Count != k)
            throw new ArgumentException($"upright pose has {uprightPose.Count} points for {k} keypoints", nameof(uprightPose));
        if (scoreWeights is not null && scoreWeights.Count != k)
            throw new ArgumentException($"{scoreWeights.Count} score weights for {k} keypoints", nameof(scoreWeights));
        foreach (var (a, b) in skeleton)
            if (a < 0 || a >= k || b < 0 || b >= k || a == b)
                throw new ArgumentException($"skeleton link ({a}, {b}) is not a pair of distinct keypoints in 0..{k - 1}", nameof(skeleton));
        KeypointNames = keypointNames.ToArray();
        _sigmas = sigmas.ToArray();
        _skeleton = skeleton.ToArray();
        _keypointFlip = keypointFlip.ToArray();
        _upright = uprightPose?.ToArray() ?? [];
        _scoreWeights = scoreWeights?.ToArray() ?? Enumerable.Repeat(1.0, k).ToArray();
        (_cafFlip, _cafFlipSwap) = CafFlipOf(_skeleton, _keypointFlip);
    }

    public IReadOnlyList<string> KeypointNames { get; }

    public int NumKeypoints => KeypointNames.Count;

    public int NumLimbs => _skeleton.Length;

    /// <summary>COCO OKS sigmas; a joint's scale target is the instance scale times its sigma.</summary>
    public IReadOnlyList<double> Sigmas => _sigmas;

    /// <summary>CAF limbs as 0-based (from, to) joints, in field order.</summary>
    public IReadOnlyList<(int A, int B)> Skeleton => _skeleton;

    /// <summary>The joint each joint becomes under a horizontal flip.</summary>
    public IReadOnlyList<int> KeypointFlip => _keypointFlip;

    /// <summary>The limb each limb becomes under a horizontal flip.</summary>
    public IReadOnlyList<int> CafFlip => _cafFlip;

    /// <summary>Limbs whose flipped image runs the other way (their two ends swap, so vec1 and vec2 swap).</summary>
    public IReadOnlyList<bool> CafFlipSwap => _cafFlipSwap;

    /// <summary>The reference pose (y up) that corrects the instance scale of partly labelled persons; empty to skip it.</summary>
    public IReadOnlyList<(double X, double Y)> UprightPose => _upright;

    /// <summary>Weights of the joint confidences, sorted high to low, in the instance score.</summary>
    public IReadOnlyList<double> ScoreWeights => _scoreWeights;

    /// <summary>The fields of a keypoint set. The skeleton is the set's skeleton in file order.</summary>
    public static CifCafMeta FromKeypointSet(KeypointSet set, IReadOnlyList<(double X, double Y)>? uprightPose = null,
        IReadOnlyList<double>? scoreWeights = null) =>
        new(set.Names, set.Sigmas, set.Skeleton.Select(l => (l.From, l.To)).ToArray(), set.FlipIndices, uprightPose, scoreWeights);

    /// <summary>COCO person keypoints (the coco17 set) with OpenPifPaf's upright pose and score weights (3, 3, 3, 1 x 14).</summary>
    public static CifCafMeta Coco() => FromKeypointSet(KeypointSet.FromName("coco17"), CocoUprightPose, CocoScoreWeights);

    /// <summary>Upright standing person in COCO keypoint order, x to the person's left negative, y up.</summary>
    public static IReadOnlyList<(double X, double Y)> CocoUprightPose { get; } =
    [
        (0, 9.3), (-0.35, 9.7), (0.35, 9.7), (-0.7, 9.5), (0.7, 9.5), (-1.4, 8.0), (1.4, 8.0), (-1.75, 6.0), (1.75, 6.2),
        (-1.75, 4.0), (1.75, 4.2), (-1.26, 4.0), (1.26, 4.0), (-1.4, 2.0), (1.4, 2.1), (-1.4, 0.0), (1.4, 0.1),
    ];

    /// <summary>The three most confident joints weigh three times as much as the others.</summary>
    public static IReadOnlyList<double> CocoScoreWeights { get; } = [3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1];

    private static (int[] Flip, bool[] Swap) CafFlipOf((int A, int B)[] skeleton, int[] keypointFlip)
    {
        var flip = new int[skeleton.Length];
        var swap = new bool[skeleton.Length];
        for (int i = 0; i < skeleton.Length; i++)
        {
            var (a, b) = (keypointFlip[skeleton[i].A], keypointFlip[skeleton[i].B]);
            int same = Array.IndexOf(skeleton, (a, b)), reverse = Array.IndexOf(skeleton, (b, a));
            if (same >= 0) flip[i] = same;
            else if (reverse >= 0) (flip[i], swap[i]) = (reverse, true);
            else throw new ArgumentException($"skeleton link {i} ({skeleton[i].A}, {skeleton[i].B}) has no mirror link ({a}, {b}) in the skeleton");
        }
        return (flip, swap);
    }
}
