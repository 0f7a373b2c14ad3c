using Distill.Torch.Vision;

namespace Distill.Pose.Synthetic;

/// <summary>Reads joint visibility, visible boxes and areas off the painted ownership mask.</summary>
internal static class SceneLabeler
{
    public static List<PersonLabel> Label(Figure[] figures, Image mask)
    {
        int w = mask.Width, h = mask.Height;
        var labels = new List<PersonLabel>(figures.Length);
        for (int slot = 0; slot < figures.Length; slot++)
        {
            var f = figures[slot];
            var l = new PersonLabel();
            for (int j = 0; j < BodyModel.JointCount; j++)
            {
                var joint = (BodyJoint)j;
                var (x, y) = f.Px(joint);
                l.X[j] = x;
                l.Y[j] = y;
                l.V[j] = x >= 0 && y >= 0 && x <= w - 1 && y <= h - 1 ? Visibility(f, slot, joint, mask, x, y) : 0;
            }
            l.HeadBox = HeadBox(f);
            labels.Add(l);
        }
        VisibleExtent(labels, mask);
        return labels;
    }

    private static int Visibility(Figure f, int slot, BodyJoint joint, Image mask, double x, double y)
    {
        // Face points on the far side of the head: hidden near the outline (an annotator could still place them),
        // unlabelled on the back of the head.
        if (joint is BodyJoint.Nose or BodyJoint.LeftEye or BodyJoint.RightEye)
        {
            double nz = FigurePainter.FaceNormalZ(f, joint);
            if (nz <= -0.4) return 0;
            if (nz <= 0.1) return 1;
        }
        else if (joint is BodyJoint.LeftEar or BodyJoint.RightEar)
        {
            double nz = FigurePainter.FaceNormalZ(f, joint);
            if (nz <= -0.6) return 0;
            if (nz <= -0.25) return 1;
        }
        var owners = FigureParts.Owners(joint).Select(p => FigurePainter.Code(slot, p)).ToArray();
        int cx = (int)Math.Round(x), cy = (int)Math.Round(y);
        byte centre = mask[cy, cx, 0];
        if (owners.Contains(centre)) return 2;
        if (centre != 0) return 1;
        // The joint falls just outside its own outline (e.g. the head top on the rim): decide by the neighbours.
        bool covered = false;
        for (int dy = -1; dy <= 1; dy++)
        {
            for (int dx = -1; dx <= 1; dx++)
            {
                int px = cx + dx, py = cy + dy;
                if (px < 0 || py < 0 || px >= mask.Width || py >= mask.Height) continue;
                byte v = mask[py, px, 0];
                if (owners.Contains(v)) return 2;
                covered |= v != 0;
            }
        }
        return covered ? 1 : 2;
    }

    private static (double, double, double, double) HeadBox(Figure f)
    {
        // The drawn head is the outline ellipse plus the hair ellipse; take their axis-aligned extent.
        double x1 = double.MaxValue, y1 = double.MaxValue, x2 = double.MinValue, y2 = double.MinValue;
        foreach (var (cx, cy, a, b, angle) in new[] { f.HeadEllipse(), f.HairEllipse() })
        {
            double t = angle * Math.PI / 180;
            double hx = Math.Sqrt(a * a * Math.Cos(t) * Math.Cos(t) + b * b * Math.Sin(t) * Math.Sin(t));
            double hy = Math.Sqrt(a * a * Math.Sin(t) * Math.Sin(t) + b * b * Math.Cos(t) * Math.Cos(t));
            x1 = Math.Min(x1, cx - hx);
            y1 = Math.Min(y1, cy - hy);
            x2 = Math.Max(x2, cx + hx);
            y2 = Math.Max(y2, cy + hy);
        }
        foreach (var j in (ReadOnlySpan<BodyJoint>)[BodyJoint.HeadTop, BodyJoint.UpperNeck])
        {
            var (x, y) = f.Px(j);
            x1 = Math.Min(x1, x);
            y1 = Math.Min(y1, y);
            x2 = Math.Max(x2, x);
            y2 = Math.Max(y2, y);
        }
        return (x1, y1, x2, y2);
    }

    private static void VisibleExtent(List<PersonLabel> labels, Image mask)
    {
        int n = labels.Count;
        var minX = Enumerable.Repeat(int.MaxValue, n).ToArray();
        var minY = Enumerable.Repeat(int.MaxValue, n).ToArray();
        var maxX = Enumerable.Repeat(-1, n).ToArray();
        var maxY = Enumerable.Repeat(-1, n).ToArray();
        var area = new int[n];
        var d = mask.Data;
        for (int y = 0; y < mask.Height; y++)
        {
            int row = y * mask.Width;
            for (int x = 0; x < mask.Width; x++)
            {
                int v = d[row + x];
                if (v == 0 || v == FigurePainter.OccluderCode) continue;
                int slot = (v - 1) / FigureParts.Count;
                if (slot >= n) continue;
                area[slot]++;
                if (x < minX[slot]) minX[slot] = x;
                if (x > maxX[slot]) maxX[slot] = x;
                if (y < minY[slot]) minY[slot] = y;
                if (y > maxY[slot]) maxY[slot] = y;
            }
        }
        for (int i = 0; i < n; i++)
        {
            labels[i].Area = area[i];
            labels[i].Box = area[i] == 0 ? (0, 0, 0, 0) : (minX[i], minY[i], maxX[i] - minX[i] + 1, maxY[i] - minY[i] + 1);
        }
    }
}
