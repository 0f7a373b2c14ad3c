namespace Distill.Pose.BottomUp;

/// <summary>
/// Horizontal flips of CIF and CAF fields, so that flipping an image and its annotations and flipping the fields
/// agree: columns are mirrored, joint fields follow the keypoint flip and limb fields the CAF flip, a limb whose
/// ends trade places swaps its two vectors (with their spreads and scales), and every vector's x is negated
/// (offsets) or mirrored to W - 1 - x (absolute positions of activated outputs).
/// </summary>
public static class FieldFlip
{
    /// <summary>A CIF target (K, 5, H, W) = [conf, dx, dy, bmin, scale].</summary>
    public static FieldTensor CifTarget(FieldTensor t, CifCafMeta meta) =>
        Flip(t, meta.KeypointFlip, null, xComponents: [1], swaps: [], absolute: false);

    /// <summary>A CAF target (L, 9, H, W) = [conf, x1, y1, x2, y2, b1, b2, s1, s2].</summary>
    public static FieldTensor CafTarget(FieldTensor t, CifCafMeta meta) =>
        Flip(t, meta.CafFlip, meta.CafFlipSwap, xComponents: [1, 3], swaps: [(1, 3), (2, 4), (5, 6), (7, 8)], absolute: false);

    /// <summary>A CIF head output (K, 5, H, W) = [spread, conf, x, y, scale], raw (offsets) or activated (absolute x).</summary>
    public static FieldTensor CifOutput(FieldTensor t, CifCafMeta meta, bool activated) =>
        Flip(t, meta.KeypointFlip, null, xComponents: [2], swaps: [], absolute: activated);

    /// <summary>A CAF head output (L, 8, H, W) = [spread, conf, x1, y1, x2, y2, s1, s2], raw or activated.</summary>
    public static FieldTensor CafOutput(FieldTensor t, CifCafMeta meta, bool activated) =>
        Flip(t, meta.CafFlip, meta.CafFlipSwap, xComponents: [2, 4], swaps: [(2, 4), (3, 5), (6, 7)], absolute: activated);

    private static FieldTensor Flip(FieldTensor t, IReadOnlyList<int> fieldFlip, IReadOnlyList<bool>? swap, int[] xComponents,
        (int A, int B)[] swaps, bool absolute)
    {
        if (fieldFlip.Count != t.Fields) throw new ArgumentException($"the flip permutation has {fieldFlip.Count} entries for {t.Fields} fields");
        var result = new FieldTensor(t.Fields, t.Components, t.Height, t.Width);
        var component = new int[t.Components];
        for (int f = 0; f < t.Fields; f++)
        {
            for (int c = 0; c < component.Length; c++) component[c] = c;
            if (swap is not null && swap[f])
                foreach (var (a, b) in swaps)
                    (component[a], component[b]) = (b, a);
            int to = fieldFlip[f];
            for (int c = 0; c < t.Components; c++)
            {
                var src = t.PlaneSpan(f, c);
                var dst = result.PlaneSpan(to, component[c]);
                bool isX = xComponents.Contains(c);
                for (int y = 0; y < t.Height; y++)
                    for (int x = 0; x < t.Width; x++)
                    {
                        float v = src[y * t.Width + (t.Width - 1 - x)];
                        if (isX) v = absolute ? t.Width - 1 - v : -v;
                        dst[y * t.Width + x] = v;
                    }
            }
        }
        return result;
    }
}
