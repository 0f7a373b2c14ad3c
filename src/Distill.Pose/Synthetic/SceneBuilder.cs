using Distill.Torch.Vision;

namespace Distill.Pose.Synthetic;

/// <summary>
/// Builds one synthetic image: background, one to three figures at varied scale and placement (sometimes cut by the
/// image border), occluding blobs in front, then sensor noise and blur. Labels come from the ownership mask painted
/// alongside the colour image, so "visible" means exactly what the picture shows. <see cref="SynthScene.Simple"/> keeps
/// only one large, whole figure on a plain background; <see cref="SynthScene.Group"/> one to three whole figures on a
/// plain background.
/// </summary>
internal static class SceneBuilder
{
    public const int MinSide = 192, MaxSide = 320;

    /// <summary>A layout is accepted when each figure keeps at least this many labelled COCO keypoints, and this many
    /// of them visible: a person hidden almost entirely behind another would be a label without evidence.</summary>
    private const int MinLabelled = 6, MinVisible = 4;

    public static (Image Image, List<PersonLabel> Persons) Build(SynthRandom rng, SynthScene scene = SynthScene.Standard)
    {
        bool simple = scene == SynthScene.Simple, group = scene == SynthScene.Group, plain = simple || group;
        int w = rng.Int(MinSide, MaxSide + 1), h = rng.Int(MinSide, MaxSide + 1);
        var background = new Image(h, w, 3);
        Background.Paint(background, rng, plain);

        // Group scenes lean to several people: that is what a bottom-up model is for.
        int count = simple ? 1 : 1 + rng.Weighted(group ? [0.25, 0.45, 0.3] : [0.5, 0.3, 0.2]);
        var figures = new Figure[count];
        for (int i = 0; i < count; i++) figures[i] = Figure.Sample(rng);

        Image image = background;
        List<PersonLabel> labels = [];
        const int attempts = 8;
        for (int attempt = 0; attempt < attempts; attempt++)
        {
            Layout(figures, w, h, rng, scene);
            image = background.Clone();
            var mask = new Image(h, w, 1);
            for (int i = 0; i < count; i++) FigurePainter.Paint(figures[i], image, mask, i);
            if (!plain) PaintOccluders(figures, image, mask, rng);
            labels = SceneLabeler.Label(figures, mask);
            if (labels.All(l => l.Labelled(ExportTables.CocoJoints) >= MinLabelled && l.Visible(ExportTables.CocoJoints) >= MinVisible)) break;
        }
        if (!plain) Finish(image, rng);
        return (image, labels);
    }

    private static void Layout(Figure[] figures, int w, int h, SynthRandom rng, SynthScene scene)
    {
        bool simple = scene == SynthScene.Simple, group = scene == SynthScene.Group;
        // Group figures are larger than standard ones: a bottom-up network sees the whole image at a small edge.
        (double lo, double hi) = simple ? (0.7, 0.95)
            : group ? figures.Length switch { 1 => (0.6, 0.95), 2 => (0.45, 0.85), _ => (0.4, 0.7) }
            : figures.Length switch { 1 => (0.5, 0.95), 2 => (0.38, 0.75), _ => (0.3, 0.62) };
        var placed = new List<(double X0, double Y0, double X1, double Y1)>();
        foreach (var f in figures)
        {
            var (minX, minY, maxX, maxY) = f.UnitBounds();
            double target = rng.Uniform(lo, hi) * Math.Min(w, h);
            double scale = target / Math.Max(maxX - minX, maxY - minY);
            double bw = (maxX - minX) * scale, bh = (maxY - minY) * scale;
            double cut = !simple && !group && rng.Chance(0.15) ? 0.3 : 0.0; // share of the figure allowed outside the image
            (double X0, double Y0, double X1, double Y1) box = default;
            for (int tries = 0; tries < 12; tries++)
            {
                double x0 = Range(rng, -cut * bw, w - bw + cut * bw);
                double y0 = Range(rng, -cut * bh, h - bh + cut * bh);
                box = (x0, y0, x0 + bw, y0 + bh);
                if (placed.All(p => IoU(p, box) < 0.3)) break;
            }
            placed.Add(box);
            f.Place(scale, box.X0 - minX * scale, box.Y0 - minY * scale);
        }
    }

    /// <summary>Uniform in [lo, hi], or the midpoint when the figure is larger than the room it has.</summary>
    private static double Range(SynthRandom rng, double lo, double hi) => hi > lo ? rng.Uniform(lo, hi) : 0.5 * (lo + hi);

    private static double IoU((double X0, double Y0, double X1, double Y1) a, (double X0, double Y0, double X1, double Y1) b)
    {
        double iw = Math.Min(a.X1, b.X1) - Math.Max(a.X0, b.X0), ih = Math.Min(a.Y1, b.Y1) - Math.Max(a.Y0, b.Y0);
        if (iw <= 0 || ih <= 0) return 0;
        double inter = iw * ih;
        return inter / ((a.X1 - a.X0) * (a.Y1 - a.Y0) + (b.X1 - b.X0) * (b.Y1 - b.Y0) - inter);
    }

    private static readonly BodyJoint[] Anchors =
    [
        BodyJoint.Pelvis, BodyJoint.Thorax, BodyJoint.HeadCentre, BodyJoint.LeftElbow, BodyJoint.RightElbow, BodyJoint.LeftWrist,
        BodyJoint.RightWrist, BodyJoint.LeftKnee, BodyJoint.RightKnee, BodyJoint.LeftAnkle, BodyJoint.RightAnkle,
    ];

    /// <summary>Blobs in front of the figures, placed near a random joint so that they actually hide something.</summary>
    private static void PaintOccluders(Figure[] figures, Image image, Image mask, SynthRandom rng)
    {
        int n = rng.Weighted([0.55, 0.3, 0.15]);
        for (int i = 0; i < n; i++)
        {
            var f = figures[rng.Int(0, figures.Length)];
            double size = f.Scale * rng.Uniform(0.06, 0.17);
            var (ax, ay) = f.Px(rng.Pick(Anchors));
            double x = ax + rng.Normal(0, 0.08 * f.Scale), y = ay + rng.Normal(0, 0.08 * f.Scale);
            var colour = Palette.Random(rng);
            var rim = Palette.Scale(colour, 0.6);
            byte code = FigurePainter.OccluderCode;
            if (rng.Chance(0.5))
            {
                double a = size, b = size * rng.Uniform(0.4, 1), angle = rng.Uniform(0, 180);
                image.DrawEllipse(x, y, a + 1, b + 1, angle, rim, -1);
                image.DrawEllipse(x, y, a, b, angle, colour, -1);
                mask.DrawEllipse(x, y, a + 1, b + 1, angle, (code, code, code), -1, antialias: false);
            }
            else
            {
                int k = rng.Int(5, 9);
                var xy = new double[2 * k];
                for (int j = 0; j < k; j++)
                {
                    double t = 2 * Math.PI * (j + rng.Uniform(-0.3, 0.3)) / k, r = size * rng.Uniform(0.6, 1.2);
                    xy[2 * j] = x + r * Math.Cos(t);
                    xy[2 * j + 1] = y + r * Math.Sin(t);
                }
                image.FillPolygon(xy, colour);
                mask.FillPolygon(xy, (code, code, code), antialias: false);
            }
        }
    }

    /// <summary>Sensor noise and an occasional soft focus on the whole picture.</summary>
    private static void Finish(Image image, SynthRandom rng)
    {
        if (rng.Chance(0.7))
        {
            double amp = rng.Uniform(2, 14);
            var d = image.Data;
            int i = 0;
            while (i < d.Length)
            {
                ulong r = rng.NextULong();
                for (int k = 0; k < 4 && i < d.Length; k++, i++)
                {
                    // Triangular noise from two random bytes: zero mean, within +-amp.
                    int u = (int)(r & 0xFF) + (int)((r >> 8) & 0xFF) - 255;
                    r >>= 16;
                    d[i] = (byte)Math.Clamp(d[i] + (int)Math.Round(u * amp / 255.0), 0, 255);
                }
            }
        }
        if (rng.Chance(0.25)) image.GaussianBlur_(3, rng.Uniform(0.5, 0.9));
    }
}
