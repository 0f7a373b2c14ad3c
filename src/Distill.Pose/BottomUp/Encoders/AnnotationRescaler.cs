namespace Distill.Pose.BottomUp.Encoders;

/// <summary>
/// The steps both field encoders share: which persons and keypoints give targets (crowds and the occlusion rule),
/// which cells are masked, how large each person is, and where the valid area ends. Field cell (i, j) sits on input
/// pixel (i s, j s); a field for an input of w x h pixels has ((w - 1) / s + 1) x ((h - 1) / s + 1) cells.
/// </summary>
public static class AnnotationRescaler
{
    /// <summary>An occluded keypoint this close (in x and in y, input pixels) to a visible one of the same type on
    /// another person is dropped: the label is more likely the other person's joint.</summary>
    public const double OcclusionRadius = 32.0;

    public static (int Height, int Width) FieldSize(int imageWidth, int imageHeight, int stride)
    {
        if (stride < 1) throw new ArgumentOutOfRangeException(nameof(stride), stride, "must be at least 1");
        if (imageWidth < 1 || imageHeight < 1) throw new ArgumentException($"image size {imageWidth}x{imageHeight} must be positive");
        return ((imageHeight - 1) / stride + 1, (imageWidth - 1) / stride + 1);
    }

    /// <summary>
    /// The keypoints of every non-crowd person, K x (x, y, v) in field units (divided by the stride), with occluded
    /// keypoints near a visible same-type keypoint of another person set to v = 0.
    /// </summary>
    public static List<double[]> KeypointSets(IReadOnlyList<FieldAnnotation> annotations, int numKeypoints, int stride)
    {
        var sets = new List<double[]>();
        for (int a = 0; a < annotations.Count; a++)
        {
            var ann = annotations[a];
            if (ann.IsCrowd) continue;
            if (ann.Keypoints.Length != 3 * numKeypoints)
                throw new ArgumentException($"annotation {a}: keypoints hold {ann.Keypoints.Length} values, {3 * numKeypoints} expected for {numKeypoints} keypoints");
            var kps = new double[3 * numKeypoints];
            for (int i = 0; i < kps.Length; i++) kps[i] = ann.Keypoints[i];
            sets.Add(kps);
        }

        for (int k = 0; k < numKeypoints; k++)
            for (int i = 0; i < sets.Count; i++)
            {
                if (sets[i][3 * k + 2] != 1) continue;
                for (int j = 0; j < sets.Count; j++)
                {
                    if (j == i || sets[j][3 * k + 2] <= 1) continue;
                    if (Math.Abs(sets[j][3 * k] - sets[i][3 * k]) > OcclusionRadius) continue;
                    if (Math.Abs(sets[j][3 * k + 1] - sets[i][3 * k + 1]) > OcclusionRadius) continue;
                    sets[i][3 * k + 2] = 0;
                    break;
                }
            }

        foreach (var kps in sets)
            for (int k = 0; k < numKeypoints; k++)
            {
                kps[3 * k] /= stride;
                kps[3 * k + 1] /= stride;
            }
        return sets;
    }

    /// <summary>
    /// Cells that take part (true) or are masked (false): the boxes of crowds and of persons without any labelled
    /// keypoint, in field units, grown by <paramref name="margin"/> cells on every side.
    /// </summary>
    public static bool[] ValidMask(IReadOnlyList<FieldAnnotation> annotations, int fieldHeight, int fieldWidth, int stride, double margin)
    {
        var mask = new bool[fieldHeight * fieldWidth];
        Array.Fill(mask, true);
        foreach (var ann in annotations)
        {
            if (!ann.IsCrowd && ann.HasLabelledKeypoint) continue;
            var (bx, by, bw, bh) = ann.Bbox;
            double x0 = bx / stride, y0 = by / stride, x1 = (bx + bw) / stride, y1 = (by + bh) / stride;
            // Truncation on the top-left, ceiling plus one (exclusive end) on the bottom-right: the mask errs on the
            // side of hiding more.
            int left = Math.Clamp((int)(x0 - margin), 0, fieldWidth - 1);
            int top = Math.Clamp((int)(y0 - margin), 0, fieldHeight - 1);
            int right = Math.Clamp((int)Math.Ceiling(x1 + margin) + 1, left + 1, fieldWidth);
            int bottom = Math.Clamp((int)Math.Ceiling(y1 + margin) + 1, top + 1, fieldHeight);
            for (int y = top; y < bottom; y++)
                Array.Fill(mask, false, y * fieldWidth + left, right - left);
        }
        return mask;
    }

    /// <summary>
    /// A person's scale in field units: the square root of the box area of its labelled keypoints, enlarged by how
    /// much of the upright reference pose those keypoints cover (at most 5x, the smaller of the upright and 45 degree
    /// rotated poses' ratios). NaN with fewer than three labelled keypoints or a scale below 0.1.
    /// </summary>
    public static double InstanceScale(ReadOnlySpan<double> keypoints, IReadOnlyList<(double X, double Y)> uprightPose)
    {
        int k = keypoints.Length / 3;
        int labelled = 0;
        double minX = double.PositiveInfinity, maxX = double.NegativeInfinity, minY = double.PositiveInfinity, maxY = double.NegativeInfinity;
        for (int i = 0; i < k; i++)
        {
            if (!(keypoints[3 * i + 2] > 0)) continue;
            labelled++;
            minX = Math.Min(minX, keypoints[3 * i]);
            maxX = Math.Max(maxX, keypoints[3 * i]);
            minY = Math.Min(minY, keypoints[3 * i + 1]);
            maxY = Math.Max(maxY, keypoints[3 * i + 1]);
        }
        if (labelled < 3) return double.NaN;
        double area = (maxX - minX) * (maxY - minY);

        double factor = 1.0;
        if (uprightPose.Count > 0)
        {
            if (uprightPose.Count != k) throw new ArgumentException($"upright pose has {uprightPose.Count} points for {k} keypoints");
            double c = Math.Cos(Math.PI / 4), s = Math.Sin(Math.PI / 4);
            double ratio = double.PositiveInfinity;
            for (int rotation = 0; rotation < 2; rotation++)
            {
                double total = BoxArea(uprightPose, keypoints, rotation == 1, c, s, labelledOnly: false);
                double visible = BoxArea(uprightPose, keypoints, rotation == 1, c, s, labelledOnly: true);
                // A labelled part whose reference box is (almost) flat says nothing about the person's size.
                if (visible > 0.1) ratio = Math.Min(ratio, total / visible);
            }
            if (double.IsPositiveInfinity(ratio)) return double.NaN;
            factor = Math.Sqrt(ratio);
        }
        double scale = Math.Sqrt(area) * Math.Min(5.0, factor);
        return scale < 0.1 ? double.NaN : scale;
    }

    private static double BoxArea(IReadOnlyList<(double X, double Y)> pose, ReadOnlySpan<double> keypoints, bool rotate,
        double c, double s, bool labelledOnly)
    {
        double minX = double.PositiveInfinity, maxX = double.NegativeInfinity, minY = double.PositiveInfinity, maxY = double.NegativeInfinity;
        for (int i = 0; i < pose.Count; i++)
        {
            if (labelledOnly && !(keypoints[3 * i + 2] > 0)) continue;
            var (x, y) = pose[i];
            if (rotate) (x, y) = (c * x - s * y, s * x + c * y);
            minX = Math.Min(minX, x);
            maxX = Math.Max(maxX, x);
            minY = Math.Min(minY, y);
            maxY = Math.Max(maxY, y);
        }
        return (maxX - minX) * (maxY - minY);
    }

    /// <summary>
    /// A fresh target of <paramref name="fields"/> x <paramref name="components"/> planes: confidence 0 in annotated
    /// cells and NaN ("don't care") in masked ones and in every other component. <c>Nearest</c> holds, per field and
    /// cell, the distance of the target that owns the cell: infinity while free, 1 in masked cells, so targets stay out.
    /// </summary>
    public static (FieldTensor Target, float[] Nearest) NewTarget(IReadOnlyList<FieldAnnotation> annotations, int fields, int components,
        int fieldHeight, int fieldWidth, int stride, double maskMargin)
    {
        int n = fieldHeight * fieldWidth;
        var target = new FieldTensor(fields, components, fieldHeight, fieldWidth);
        Array.Fill(target.Data, float.NaN);
        var valid = ValidMask(annotations, fieldHeight, fieldWidth, stride, maskMargin);
        var nearest = new float[fields * n];
        for (int f = 0; f < fields; f++)
        {
            var conf = target.PlaneSpan(f, 0);
            for (int c = 0; c < n; c++)
            {
                conf[c] = valid[c] ? 0f : float.NaN;
                nearest[f * n + c] = valid[c] ? float.PositiveInfinity : 1f;
            }
        }
        return (target, nearest);
    }

    /// <summary>
    /// Cells outside the valid area of the input (x, y, w, h in input pixels, e.g. the image inside its padding) become
    /// background: confidence 0, every other component "don't care". Null leaves the target as it is.
    /// </summary>
    public static void ClearOutside(FieldTensor target, (double X, double Y, double W, double H)? validArea, int stride)
    {
        if (validArea is not { } area) return;
        int h = target.Height, w = target.Width;
        int minX = (int)(area.X / stride), minY = (int)(area.Y / stride);
        int maxX = (int)((area.X + area.W) / stride) + 1, maxY = (int)((area.Y + area.H) / stride) + 1;
        var d = target.Data;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                if (!(x < minX || y < minY || x >= maxX || y >= maxY)) continue;
                int c = y * w + x;
                for (int f = 0; f < target.Fields; f++)
                {
                    d[target.Plane(f, 0) + c] = 0f;
                    for (int comp = 1; comp < target.Components; comp++) d[target.Plane(f, comp) + c] = float.NaN;
                }
            }
    }
}
