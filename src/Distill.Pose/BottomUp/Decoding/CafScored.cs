namespace Distill.Pose.BottomUp.Decoding;

/// <summary>
/// One CAF cell read as an association from a source joint to a target joint, in input pixels.
/// </summary>
public readonly record struct Association(float C, float X1, float Y1, float X2, float Y2, float S1, float S2);

/// <summary>
/// The CAF cells worth following, per limb and direction. A cell with conf &gt;= the CAF threshold gives a forward
/// entry (joint A to joint B) and a backward one (B to A); each is rescored c (0.1 + 0.9 CifHr(target joint, target
/// point)) and kept when the score exceeds the score threshold.
/// </summary>
public sealed class CafScored
{
    private readonly List<Association>[] _forward;
    private readonly List<Association>[] _backward;

    public CafScored(int limbs)
    {
        _forward = new List<Association>[limbs];
        _backward = new List<Association>[limbs];
        for (int i = 0; i < limbs; i++)
        {
            _forward[i] = [];
            _backward[i] = [];
        }
    }

    /// <summary>Entries from joint A to joint B of each limb.</summary>
    public IReadOnlyList<List<Association>> Forward => _forward;

    /// <summary>Entries from joint B to joint A of each limb.</summary>
    public IReadOnlyList<List<Association>> Backward => _backward;

    /// <summary>Reads an activated CAF field (L, 8, H, W) = [spread, conf, x1, y1, x2, y2, s1, s2] in cells.</summary>
    public void Fill(FieldTensor caf, int stride, IReadOnlyList<(int A, int B)> skeleton, CifHr cifHr, double threshold, double scoreThreshold)
    {
        if (caf.Fields != _forward.Length) throw new ArgumentException($"CAF has {caf.Fields} fields, the skeleton {_forward.Length} limbs");
        int cells = caf.Height * caf.Width;
        var d = caf.Data;
        for (int p = 0; p < caf.Fields; p++)
        {
            _forward[p].Clear();
            _backward[p].Clear();
            var (a, b) = skeleton[p];
            int pc = caf.Plane(p, 1);
            for (int i = 0; i < cells; i++)
            {
                float c = d[pc + i];
                if (!(c >= threshold)) continue;
                float x1 = d[pc + cells + i] * stride, y1 = d[pc + 2 * cells + i] * stride;
                float x2 = d[pc + 3 * cells + i] * stride, y2 = d[pc + 4 * cells + i] * stride;
                float s1 = d[pc + 5 * cells + i] * stride, s2 = d[pc + 6 * cells + i] * stride;
                float forward = c * (0.1f + 0.9f * cifHr.Value(b, x2, y2, 0f));
                if (forward > scoreThreshold) _forward[p].Add(new Association(forward, x1, y1, x2, y2, s1, s2));
                float backward = c * (0.1f + 0.9f * cifHr.Value(a, x1, y1, 0f));
                if (backward > scoreThreshold) _backward[p].Add(new Association(backward, x2, y2, x1, y1, s2, s1));
            }
        }
    }
}
