using System.Text.Json;

namespace Distill.Pose.Synthetic;

/// <summary>
/// Writes mmpose's MPII annotation layout: one record per person with image, center, scale, joints, joints_vis and
/// the head box. mmpose reads a record as a square box of side scale * 200 centred at
/// (center.x - 1, center.y + 0.075 * side - 1) (a MATLAB 1-based centre, lowered by 15/200 of the side); the centre
/// written here is chosen so that this box covers the person. Joints are 0-based pixels; unlabelled ones are (-1, -1).
/// </summary>
internal static class MpiiWriter
{
    /// <summary>Box side relative to the person's extent, leaving a thin margin.</summary>
    private const double Margin = 1.08;

    public static int Write(string path, IReadOnlyList<RenderedImage> images)
    {
        using var stream = File.Create(path);
        using var w = new Utf8JsonWriter(stream);
        int count = 0;
        w.WriteStartArray();
        foreach (var img in images)
        {
            foreach (var p in img.Persons)
            {
                var (x0, y0, x1, y1) = Extent(p);
                double side = Math.Max(x1 - x0, y1 - y0) * Margin;
                double scale = JsonNumbers.Round(side / 200, 4);
                double cx = 0.5 * (x0 + x1) + 1;
                double cy = 0.5 * (y0 + y1) - 0.075 * scale * 200 + 1;

                w.WriteStartObject();
                w.WriteString("image", img.FileName);
                JsonNumbers.WriteArray(w, "center", cx, cy);
                w.WritePropertyName("scale");
                JsonNumbers.Write(w, scale, 4);
                w.WriteStartArray("joints");
                foreach (var j in ExportTables.MpiiJoints)
                {
                    bool labelled = p.V[(int)j] > 0;
                    w.WriteStartArray();
                    JsonNumbers.Write(w, labelled ? p.X[(int)j] : -1);
                    JsonNumbers.Write(w, labelled ? p.Y[(int)j] : -1);
                    w.WriteEndArray();
                }
                w.WriteEndArray();
                w.WriteStartArray("joints_vis");
                foreach (var j in ExportTables.MpiiJoints) w.WriteNumberValue(p.V[(int)j] > 0 ? 1 : 0);
                w.WriteEndArray();
                var hb = p.HeadBox;
                JsonNumbers.WriteArray(w, "headboxes", hb.X1, hb.Y1, hb.X2, hb.Y2);
                w.WriteEndObject();
                count++;
            }
        }
        w.WriteEndArray();
        return count;
    }

    /// <summary>The person's extent: visible pixels, labelled joints and, when the head shows, the head box.</summary>
    private static (double X0, double Y0, double X1, double Y1) Extent(PersonLabel p)
    {
        double x0 = double.MaxValue, y0 = double.MaxValue, x1 = double.MinValue, y1 = double.MinValue;
        void Add(double x, double y)
        {
            x0 = Math.Min(x0, x);
            y0 = Math.Min(y0, y);
            x1 = Math.Max(x1, x);
            y1 = Math.Max(y1, y);
        }
        if (p.Area > 0)
        {
            Add(p.Box.X, p.Box.Y);
            Add(p.Box.X + p.Box.W, p.Box.Y + p.Box.H);
        }
        foreach (var j in ExportTables.MpiiJoints)
            if (p.V[(int)j] > 0) Add(p.X[(int)j], p.Y[(int)j]);
        if (p.V[(int)BodyJoint.HeadTop] > 0 || p.V[(int)BodyJoint.UpperNeck] > 0)
        {
            Add(p.HeadBox.X1, p.HeadBox.Y1);
            Add(p.HeadBox.X2, p.HeadBox.Y2);
        }
        if (x0 > x1)
        {
            // Nothing of the person is in view: a box around the joints anyway, so the record stays well formed.
            for (int j = 0; j < BodyModel.JointCount; j++) Add(p.X[j], p.Y[j]);
        }
        return (x0, y0, x1, y1);
    }
}
