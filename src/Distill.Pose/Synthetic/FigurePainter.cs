using Distill.Torch.Vision;
using Rgb = (byte R, byte G, byte B);

namespace Distill.Pose.Synthetic;

/// <summary>
/// Paints a figure back to front (painter's algorithm on part depth) into the colour image and, with one code per
/// part, into the scene's ownership mask that later decides which joints are visible.
/// </summary>
internal static class FigurePainter
{
    /// <summary>Mask code of the given figure slot and part; 0 is background, <see cref="OccluderCode"/> an occluder.</summary>
    public static byte Code(int slot, FigurePart part) => (byte)(1 + slot * FigureParts.Count + (int)part);

    public const byte OccluderCode = 255;

    public static void Paint(Figure f, Image image, Image mask, int slot)
    {
        var order = new List<(double Depth, int Index, FigurePart Part)>();
        foreach (var part in Enum.GetValues<FigurePart>())
            order.Add((PartDepth(f, part), order.Count, part));
        order.Sort((a, b) => a.Depth != b.Depth ? a.Depth.CompareTo(b.Depth) : a.Index.CompareTo(b.Index));
        foreach (var (_, _, part) in order)
            PaintPart(f, part, image, mask, Code(slot, part));
    }

    private static double PartDepth(Figure f, FigurePart part) => part switch
    {
        // The trunk sits a little behind limbs at the same depth: arms at the sides are drawn over it.
        FigurePart.Torso => 0.5 * (f.Depth(BodyJoint.Thorax) + f.Depth(BodyJoint.Pelvis)) - 0.04,
        FigurePart.Hips => f.Depth(BodyJoint.Pelvis) - 0.05,
        FigurePart.Neck => Mid(f, BodyJoint.Thorax, BodyJoint.UpperNeck) - 0.03,
        FigurePart.Head => f.Depth(BodyJoint.HeadCentre),
        FigurePart.LeftUpperArm => Mid(f, BodyJoint.LeftShoulder, BodyJoint.LeftElbow),
        FigurePart.LeftForearm => Mid(f, BodyJoint.LeftElbow, BodyJoint.LeftWrist),
        FigurePart.LeftHand => Mid(f, BodyJoint.LeftWrist, BodyJoint.LeftHandTip) + 0.005,
        FigurePart.RightUpperArm => Mid(f, BodyJoint.RightShoulder, BodyJoint.RightElbow),
        FigurePart.RightForearm => Mid(f, BodyJoint.RightElbow, BodyJoint.RightWrist),
        FigurePart.RightHand => Mid(f, BodyJoint.RightWrist, BodyJoint.RightHandTip) + 0.005,
        FigurePart.LeftThigh => Mid(f, BodyJoint.LeftHip, BodyJoint.LeftKnee),
        FigurePart.LeftShin => Mid(f, BodyJoint.LeftKnee, BodyJoint.LeftAnkle),
        FigurePart.LeftFoot => Mid(f, BodyJoint.LeftAnkle, BodyJoint.LeftToe) + 0.005,
        FigurePart.RightThigh => Mid(f, BodyJoint.RightHip, BodyJoint.RightKnee),
        FigurePart.RightShin => Mid(f, BodyJoint.RightKnee, BodyJoint.RightAnkle),
        FigurePart.RightFoot => Mid(f, BodyJoint.RightAnkle, BodyJoint.RightToe) + 0.005,
        _ => 0,
    };

    private static double Mid(Figure f, BodyJoint a, BodyJoint b) => 0.5 * (f.Depth(a) + f.Depth(b));

    private static void PaintPart(Figure f, FigurePart part, Image image, Image mask, byte code)
    {
        var st = f.Style;
        double w = st.PartWidth[(int)part] * st.Build * f.Scale * 0.5; // diameter in body units -> radius in pixels
        switch (part)
        {
            case FigurePart.Torso:
                PaintTrunk(f, upper: true, st.Shirt, image, mask, code);
                break;
            case FigurePart.Hips:
                PaintTrunk(f, upper: false, st.Pants, image, mask, code);
                break;
            case FigurePart.Neck:
                Capsule(image, mask, code, f.Px(BodyJoint.Thorax), f.Px(BodyJoint.UpperNeck), 0.05 * w, 0.045 * w, Palette.Scale(st.Skin, 0.92));
                break;
            case FigurePart.Head:
                PaintHead(f, image, mask, code);
                break;
            case FigurePart.LeftUpperArm or FigurePart.RightUpperArm:
            {
                int s = part == FigurePart.LeftUpperArm ? 0 : 1;
                Capsule(image, mask, code, f.Px(Side(s, BodyJoint.LeftShoulder)), f.Px(Side(s, BodyJoint.LeftElbow)),
                    0.062 * w, 0.05 * w, FigureStyle.Sided(st.Shirt, s));
                break;
            }
            case FigurePart.LeftForearm or FigurePart.RightForearm:
            {
                int s = part == FigurePart.LeftForearm ? 0 : 1;
                Capsule(image, mask, code, f.Px(Side(s, BodyJoint.LeftElbow)), f.Px(Side(s, BodyJoint.LeftWrist)),
                    0.048 * w, 0.036 * w, FigureStyle.Sided(st.ShortSleeves ? st.Skin : st.Shirt, s));
                break;
            }
            case FigurePart.LeftHand or FigurePart.RightHand:
            {
                int s = part == FigurePart.LeftHand ? 0 : 1;
                var a = f.Px(Side(s, BodyJoint.LeftWrist));
                var b = f.Px(Side(s, BodyJoint.LeftHandTip));
                Capsule(image, mask, code, a, b, 0.032 * w, 0.026 * w, FigureStyle.Sided(st.Skin, s));
                break;
            }
            case FigurePart.LeftThigh or FigurePart.RightThigh:
            {
                int s = part == FigurePart.LeftThigh ? 0 : 1;
                Capsule(image, mask, code, f.Px(Side(s, BodyJoint.LeftHip)), f.Px(Side(s, BodyJoint.LeftKnee)),
                    0.105 * w, 0.072 * w, FigureStyle.Sided(st.Pants, s));
                break;
            }
            case FigurePart.LeftShin or FigurePart.RightShin:
            {
                int s = part == FigurePart.LeftShin ? 0 : 1;
                Capsule(image, mask, code, f.Px(Side(s, BodyJoint.LeftKnee)), f.Px(Side(s, BodyJoint.LeftAnkle)),
                    0.07 * w, 0.048 * w, FigureStyle.Sided(st.Shorts ? st.Skin : st.Pants, s));
                break;
            }
            case FigurePart.LeftFoot or FigurePart.RightFoot:
            {
                int s = part == FigurePart.LeftFoot ? 0 : 1;
                Capsule(image, mask, code, f.Px(Side(s, BodyJoint.LeftAnkle)), f.Px(Side(s, BodyJoint.LeftToe)),
                    0.045 * w, 0.038 * w, FigureStyle.Sided(st.Shoes, s));
                break;
            }
        }
    }

    /// <summary>The right-side twin of a left joint when s is 1 (the enum lists left then right).</summary>
    private static BodyJoint Side(int s, BodyJoint left) => left + s;

    /// <summary>
    /// The trunk as the outline of elliptical cross-sections (shoulders, chest, waist / waist, hips, crotch),
    /// so that it keeps a believable width when the figure is seen from the side.
    /// </summary>
    private static void PaintTrunk(Figure f, bool upper, Rgb colour, Image image, Image mask, byte code)
    {
        double b = f.Style.Build * f.Style.PartWidth[(int)(upper ? FigurePart.Torso : FigurePart.Hips)];
        // (height above the pelvis, half width, half depth) in body units
        ReadOnlySpan<(double Y, double W, double D)> rings = upper
            ? [(0.275, 0.14, 0.06), (0.2, 0.13, 0.078), (0.07, 0.105, 0.066)]
            : [(0.09, 0.108, 0.066), (0.0, 0.128, 0.075), (-0.075, 0.09, 0.06)];
        var frame = upper ? f.Model.Spine : Mat3.Identity;
        const int steps = 12;
        var pts = new List<(double X, double Y)>(rings.Length * steps);
        foreach (var (y, hw, hd) in rings)
        {
            for (int k = 0; k < steps; k++)
            {
                double t = 2 * Math.PI * k / steps;
                var local = new Vec3(Math.Cos(t) * hw * b, y, Math.Sin(t) * hd * b);
                pts.Add(f.ProjectModel(frame * local));
            }
        }
        var hull = ConvexHull(pts);
        var xy = new double[hull.Count * 2];
        for (int i = 0; i < hull.Count; i++)
        {
            xy[2 * i] = hull[i].X;
            xy[2 * i + 1] = hull[i].Y;
        }
        image.FillPolygon(xy, colour);
        var edge = Palette.Scale(colour, 0.55);
        for (int i = 0; i < hull.Count; i++)
        {
            var p = hull[i];
            var q = hull[(i + 1) % hull.Count];
            image.DrawLine(p.X, p.Y, q.X, q.Y, edge, 1);
        }
        mask.FillPolygon(xy, (code, code, code), antialias: false);
    }

    /// <summary>
    /// Head with hair, ears, eyes, nose and mouth. The face is drawn only on the side turned to the viewer and the
    /// hair covers the back, so heading (and with it which eye is which) can be read from the picture.
    /// </summary>
    private static void PaintHead(Figure f, Image image, Image mask, byte code)
    {
        var st = f.Style;
        var (cx, cy, across, along, angle) = f.HeadEllipse();
        double facing = f.Facing;
        var r = BodyModel.HeadRadii * st.HeadScale;
        var hair = f.HairEllipse();
        mask.DrawEllipse(cx, cy, across, along, angle, (code, code, code), -1, antialias: false);
        mask.DrawEllipse(hair.X, hair.Y, hair.Across, hair.Along, hair.AngleDeg, (code, code, code), -1, antialias: false);
        if (facing > Figure.FaceForwardLimit)
        {
            image.DrawEllipse(hair.X, hair.Y, hair.Across, hair.Along, hair.AngleDeg, st.Hair, -1);
            var (fx, fy) = f.Px(f.Cam[(int)BodyJoint.HeadCentre] + f.HeadAxis(new Vec3(0, -0.12 * r.Y, 0.3 * r.Z)));
            image.DrawEllipse(fx, fy, across * 0.9, along * 0.86, angle, st.Skin, -1);
        }
        else
        {
            image.DrawEllipse(cx, cy, across, along, angle, st.Skin, -1);
            image.DrawEllipse(hair.X, hair.Y, hair.Across, hair.Along, hair.AngleDeg, st.Hair, -1);
        }
        double px = f.Scale * r.X; // head half-width in pixels, the unit for facial details

        for (int s = 0; s < 2; s++)
        {
            var ear = s == 0 ? BodyJoint.LeftEar : BodyJoint.RightEar;
            if (FaceNormalZ(f, ear) > -0.25)
            {
                var (ex, ey) = f.Px(ear);
                image.DrawEllipse(ex, ey, 0.2 * px, 0.34 * px, angle, FigureStyle.Sided(Palette.Scale(st.Skin, 0.85), s), -1);
                mask.DrawEllipse(ex, ey, 0.2 * px, 0.34 * px, angle, (code, code, code), -1, antialias: false);
            }
        }
        for (int s = 0; s < 2; s++)
        {
            var eye = s == 0 ? BodyJoint.LeftEye : BodyJoint.RightEye;
            if (FaceNormalZ(f, eye) > 0.1)
            {
                var (ex, ey) = f.Px(eye);
                image.DrawCircle(ex, ey, Math.Max(1.0, 0.2 * px), (245, 245, 240), -1);
                image.DrawCircle(ex, ey, Math.Max(0.7, 0.11 * px), (25, 20, 20), -1);
            }
        }
        if (FaceNormalZ(f, BodyJoint.Nose) > 0.1)
        {
            var (nx, ny) = f.Px(BodyJoint.Nose);
            image.DrawCircle(nx, ny, Math.Max(0.8, 0.13 * px), Palette.Scale(st.Skin, 0.7), -1);
        }
        if (facing > 0.3)
        {
            var m1 = f.Px(f.Cam[(int)BodyJoint.HeadCentre] + f.HeadAxis(new Vec3(-0.25 * r.X, -0.55 * r.Y, 0.8 * r.Z)));
            var m2 = f.Px(f.Cam[(int)BodyJoint.HeadCentre] + f.HeadAxis(new Vec3(0.25 * r.X, -0.55 * r.Y, 0.8 * r.Z)));
            image.DrawLine(m1.X, m1.Y, m2.X, m2.Y, (120, 40, 40), 1);
        }
    }

    /// <summary>How much the head surface at a face point looks at the viewer (camera z of its normal).</summary>
    public static double FaceNormalZ(Figure f, BodyJoint j)
    {
        var c = f.Model.Joints[(int)BodyJoint.HeadCentre];
        var n = (f.Model.Joints[(int)j] - c).Normalized();
        return (f.Camera * n).Z;
    }

    /// <summary>A limb: a tapered band with round ends and a darker rim.</summary>
    private static void Capsule(Image image, Image mask, byte code, (double X, double Y) a, (double X, double Y) b, double ra, double rb, Rgb fill)
    {
        ra = Math.Max(ra, 1.2);
        rb = Math.Max(rb, 1.2);
        var rim = Palette.Scale(fill, 0.55);
        Band(image, a, b, ra + 1, rb + 1, rim, true);
        Band(image, a, b, ra, rb, fill, true);
        Band(mask, a, b, ra + 0.5, rb + 0.5, (code, code, code), false);
    }

    private static void Band(Image img, (double X, double Y) a, (double X, double Y) b, double ra, double rb, Rgb colour, bool aa)
    {
        double dx = b.X - a.X, dy = b.Y - a.Y, len = Math.Sqrt(dx * dx + dy * dy);
        if (len > 0.5)
        {
            double nx = -dy / len, ny = dx / len;
            ReadOnlySpan<double> quad = [a.X + nx * ra, a.Y + ny * ra, b.X + nx * rb, b.Y + ny * rb, b.X - nx * rb, b.Y - ny * rb, a.X - nx * ra, a.Y - ny * ra];
            img.FillPolygon(quad, colour, aa);
        }
        img.DrawCircle(a.X, a.Y, ra, colour, -1, aa);
        img.DrawCircle(b.X, b.Y, rb, colour, -1, aa);
    }

    /// <summary>Andrew's monotone chain; returns the hull counter-clockwise without repeating the first point.</summary>
    private static List<(double X, double Y)> ConvexHull(List<(double X, double Y)> pts)
    {
        pts.Sort((p, q) => p.X != q.X ? p.X.CompareTo(q.X) : p.Y.CompareTo(q.Y));
        var hull = new List<(double X, double Y)>(pts.Count + 1);
        for (int pass = 0; pass < 2; pass++)
        {
            int start = hull.Count;
            for (int k = 0; k < pts.Count; k++)
            {
                var p = pass == 0 ? pts[k] : pts[pts.Count - 1 - k];
                while (hull.Count >= start + 2 && Cross(hull[^2], hull[^1], p) <= 0) hull.RemoveAt(hull.Count - 1);
                hull.Add(p);
            }
            hull.RemoveAt(hull.Count - 1);
        }
        return hull;
    }

    private static double Cross((double X, double Y) o, (double X, double Y) a, (double X, double Y) b) =>
        (a.X - o.X) * (b.Y - o.Y) - (a.Y - o.Y) * (b.X - o.X);
}
