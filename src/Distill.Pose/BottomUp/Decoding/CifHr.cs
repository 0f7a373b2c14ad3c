namespace Distill.Pose.BottomUp.Decoding;

/// <summary>
/// The high-resolution joint maps: every confident CIF cell votes for the position it points at with a Gaussian of
/// sigma max(1, 0.5 scale) (input pixels), truncated at one sigma. The pixel nearest the position gets c / 16 (16 is
/// the CIF patch's cell count, so a joint seen by a whole patch reaches 1); the others c / 16 x e(-d^2 / 2 sigma^2)
/// with e(z) = (1 + z/8)^8. Each pixel is capped at 1. Maps are (K, (H - 1) s + 1, (W - 1) s + 1).
/// </summary>
public sealed class CifHr
{
    private const float Untouched = -1f;
    private float[] _map = [];

    public int Fields { get; private set; }
    public int Height { get; private set; }
    public int Width { get; private set; }

    /// <summary>The accumulated maps, (K, Height, Width) row-major; untouched pixels hold -1.</summary>
    public ReadOnlySpan<float> Map => _map.AsSpan(0, Fields * Height * Width);

    /// <summary>Builds the maps from an activated CIF field (K, 5, H, W) = [spread, conf, x, y, scale] in cells.</summary>
    public void Fill(FieldTensor cif, int stride, double threshold)
    {
        Fields = cif.Fields;
        Height = (cif.Height - 1) * stride + 1;
        Width = (cif.Width - 1) * stride + 1;
        int n = Fields * Height * Width;
        // The buffer only grows: images of varying size reuse it instead of allocating a large array each time.
        if (_map.Length < n) _map = new float[n];
        Array.Fill(_map, Untouched, 0, n);
        int cells = cif.Height * cif.Width;
        var d = cif.Data;
        for (int f = 0; f < cif.Fields; f++)
        {
            int pc = cif.Plane(f, 1), px = cif.Plane(f, 2), py = cif.Plane(f, 3), ps = cif.Plane(f, 4);
            for (int i = 0; i < cells; i++)
            {
                float c = d[pc + i];
                if (!(c >= threshold)) continue;
                double sigma = Math.Max(1.0, 0.5 * d[ps + i] * stride);
                Accumulate(f, c / 16.0, d[px + i] * stride, d[py + i] * stride, sigma);
            }
        }
    }

    /// <summary>Adds one vote of value <paramref name="v"/> at (x, y) input pixels, truncated at one sigma.</summary>
    public void Accumulate(int field, double v, double x, double y, double sigma)
    {
        if (!double.IsFinite(x) || !double.IsFinite(y) || !double.IsFinite(sigma)) return;
        int minX = Math.Clamp((int)(x - sigma), 0, Width - 1), minY = Math.Clamp((int)(y - sigma), 0, Height - 1);
        int maxX = Math.Clamp((int)(x + sigma + 1), minX + 1, Width), maxY = Math.Clamp((int)(y + sigma + 1), minY + 1, Height);
        double sigma2 = sigma * sigma;
        int plane = field * Height * Width;
        for (int yy = minY; yy < maxY; yy++)
        {
            double dy2 = (yy - y) * (yy - y);
            for (int xx = minX; xx < maxX; xx++)
            {
                double dx2 = (xx - x) * (xx - x);
                if (dx2 + dy2 > sigma2) continue;
                double vv = dx2 < 0.25 && dy2 < 0.25 ? v : v * ApproxExp(-0.5 * (dx2 + dy2) / sigma2);
                ref float e = ref _map[plane + yy * Width + xx];
                e = (float)Math.Min(1.0, Math.Max(e, 0f) + vv);
            }
        }
    }

    /// <summary>(1 + z/8)^8 for |z| &lt;= 2, else 0: close to exp(z) near 0 and cheap.</summary>
    public static double ApproxExp(double z)
    {
        if (z > 2 || z < -2) return 0;
        double e = 1 + z / 8;
        e *= e;
        e *= e;
        e *= e;
        return e;
    }

    /// <summary>The map at the pixel nearest (x, y), or <paramref name="fallback"/> outside the map or where no vote
    /// landed.</summary>
    public float Value(int field, double x, double y, float fallback)
    {
        if (!(x >= -0.5 && y >= -0.5 && x <= Width - 0.5 && y <= Height - 0.5)) return fallback;
        int i = Math.Clamp((int)Math.Round(x, MidpointRounding.AwayFromZero), 0, Width - 1);
        int j = Math.Clamp((int)Math.Round(y, MidpointRounding.AwayFromZero), 0, Height - 1);
        float v = _map[(field * Height + j) * Width + i];
        return v < 0 ? fallback : v;
    }
}
