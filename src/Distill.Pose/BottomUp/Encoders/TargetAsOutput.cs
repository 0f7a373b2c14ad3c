namespace Distill.Pose.BottomUp.Encoders;

/// <summary>
/// Reads encoder targets as if a perfect network had produced them: the activated head output with confidence 1
/// at targets and 0 elsewhere (masked cells included), exact positions (offset plus cell index) and the target
/// scales. Decoding these fields is the check that encoder, decoder and evaluator agree; it also shows what a
/// dataset's targets decode to.
/// </summary>
public static class TargetAsOutput
{
    /// <summary>A scale the target leaves open (a person with fewer than three labelled joints) reads as this many cells.</summary>
    public const float UnknownScale = 1f;

    /// <summary>CIF target (K, 5, H, W) = [conf, dx, dy, bmin, scale] to output [spread, conf, x, y, scale].</summary>
    public static FieldTensor Cif(FieldTensor target)
    {
        if (target.Components != CifEncoder.Components) throw new ArgumentException($"a CIF target has {CifEncoder.Components} components, got {target.Components}");
        var o = new FieldTensor(target.Fields, 5, target.Height, target.Width);
        for (int f = 0; f < target.Fields; f++)
            for (int y = 0; y < target.Height; y++)
                for (int x = 0; x < target.Width; x++)
                {
                    if (!(target[f, 0, y, x] > 0)) continue;
                    o[f, 1, y, x] = 1f;
                    o[f, 2, y, x] = target[f, 1, y, x] + x;
                    o[f, 3, y, x] = target[f, 2, y, x] + y;
                    o[f, 4, y, x] = Known(target[f, 4, y, x]);
                }
        return o;
    }

    /// <summary>CAF target (L, 9, H, W) = [conf, x1, y1, x2, y2, b1, b2, s1, s2] to output [spread, conf, x1, y1, x2, y2, s1, s2].</summary>
    public static FieldTensor Caf(FieldTensor target)
    {
        if (target.Components != CafEncoder.Components) throw new ArgumentException($"a CAF target has {CafEncoder.Components} components, got {target.Components}");
        var o = new FieldTensor(target.Fields, 8, target.Height, target.Width);
        for (int f = 0; f < target.Fields; f++)
            for (int y = 0; y < target.Height; y++)
                for (int x = 0; x < target.Width; x++)
                {
                    if (!(target[f, 0, y, x] > 0)) continue;
                    o[f, 1, y, x] = 1f;
                    o[f, 2, y, x] = target[f, 1, y, x] + x;
                    o[f, 3, y, x] = target[f, 2, y, x] + y;
                    o[f, 4, y, x] = target[f, 3, y, x] + x;
                    o[f, 5, y, x] = target[f, 4, y, x] + y;
                    o[f, 6, y, x] = Known(target[f, 7, y, x]);
                    o[f, 7, y, x] = Known(target[f, 8, y, x]);
                }
        return o;
    }

    private static float Known(float scale) => float.IsFinite(scale) ? scale : UnknownScale;
}
