using Rgb = (byte R, byte G, byte B);

namespace Distill.Pose.Synthetic;

/// <summary>How one figure looks: colours, clothing, build. Left and right limbs get a consistent shading offset
/// (left lighter, right darker) so a model can tell the sides apart and learn flip pairs.</summary>
internal sealed class FigureStyle
{
    public Rgb Skin, Hair, Shirt, Pants, Shoes;
    public bool ShortSleeves, Shorts;
    /// <summary>Thickness multiplier of limbs and trunk.</summary>
    public double Build;
    public double HeadScale;
    /// <summary>Per-part thickness jitter, indexed by <see cref="FigurePart"/>.</summary>
    public double[] PartWidth = [];

    private static readonly Rgb[] Skins = [(255, 224, 196), (241, 194, 160), (224, 172, 130), (198, 134, 92), (160, 102, 66), (120, 75, 48), (88, 56, 38)];
    private static readonly Rgb[] Hairs = [(22, 18, 16), (58, 40, 26), (105, 72, 40), (196, 156, 96), (150, 150, 150), (140, 62, 30), (228, 222, 205)];

    public static FigureStyle Sample(SynthRandom rng)
    {
        var s = new FigureStyle
        {
            Skin = Palette.Jitter(rng.Pick(Skins), rng, 12),
            Hair = Palette.Jitter(rng.Pick(Hairs), rng, 10),
            Shirt = Palette.Random(rng),
            Pants = rng.Chance(0.4) ? Palette.FromHsv(rng.Uniform(200, 235), rng.Uniform(0.3, 0.8), rng.Uniform(0.2, 0.7)) : Palette.Random(rng),
            Shoes = rng.Chance(0.6) ? Palette.Jitter((40, 35, 32), rng, 25) : Palette.Random(rng),
            ShortSleeves = rng.Chance(0.4),
            Shorts = rng.Chance(0.3),
            Build = rng.Uniform(0.8, 1.35),
            HeadScale = rng.Uniform(0.92, 1.12),
        };
        s.PartWidth = new double[FigureParts.Count];
        for (int i = 0; i < s.PartWidth.Length; i++) s.PartWidth[i] = rng.Uniform(0.9, 1.12);
        return s;
    }

    /// <summary>The colour of a part on one side (0 left, 1 right).</summary>
    public static Rgb Sided(Rgb c, int side) => side == 0 ? Palette.Lerp(c, Palette.White, 0.28) : Palette.Scale(c, 0.68);
}
