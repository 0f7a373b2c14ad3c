namespace Distill.Pose.BottomUp.Decoding;

/// <summary>
/// Per-joint occupancy at reduced resolution: a placed joint marks the cells within max(<see cref="MinRadius"/>,
/// s / reduction) (reduced cells, s its scale in pixels) of it. Seeds and keypoint NMS ask whether a spot is taken.
/// </summary>
public sealed class Occupancy
{
    public const int Reduction = 2;
    public const double MinRadius = 2.0;

    private bool[] _taken = [];

    public int Fields { get; private set; }
    public int Height { get; private set; }
    public int Width { get; private set; }

    /// <summary>Clears the map for (fields, height, width) pixels.</summary>
    public void Reset(int fields, int height, int width)
    {
        Fields = fields;
        Height = (height - 1) / Reduction + 1;
        Width = (width - 1) / Reduction + 1;
        int n = Fields * Height * Width;
        if (_taken.Length < n) _taken = new bool[n];
        else Array.Clear(_taken, 0, n);
    }

    public void Set(int field, double x, double y, double scale)
    {
        if (!double.IsFinite(x) || !double.IsFinite(y)) return;
        double rx = x / Reduction, ry = y / Reduction;
        double r = Math.Max(MinRadius, double.IsFinite(scale) ? scale / Reduction : 0);
        int minX = Math.Clamp((int)(rx - r), 0, Width - 1), minY = Math.Clamp((int)(ry - r), 0, Height - 1);
        int maxX = Math.Clamp((int)(rx + r) + 1, minX + 1, Width), maxY = Math.Clamp((int)(ry + r) + 1, minY + 1, Height);
        int plane = field * Height * Width;
        for (int yy = minY; yy < maxY; yy++)
            Array.Fill(_taken, true, plane + yy * Width + minX, maxX - minX);
    }

    /// <summary>Whether the reduced cell nearest (x, y) is taken; spots outside the map are free.</summary>
    public bool Get(int field, double x, double y)
    {
        double rx = x / Reduction, ry = y / Reduction;
        if (!(rx >= -0.5 && ry >= -0.5 && rx < Width - 0.5 && ry < Height - 0.5)) return false;
        int i = Math.Clamp((int)Math.Round(rx, MidpointRounding.AwayFromZero), 0, Width - 1);
        int j = Math.Clamp((int)Math.Round(ry, MidpointRounding.AwayFromZero), 0, Height - 1);
        return _taken[(field * Height + j) * Width + i];
    }
}
