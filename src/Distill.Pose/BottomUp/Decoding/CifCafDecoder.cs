using Distill.Pose.Evaluation;
using Distill.Torch;

namespace Distill.Pose.BottomUp.Decoding;

/// <summary>Thresholds of <see cref="CifCafDecoder"/> (OpenPifPaf's COCO evaluation settings by default).</summary>
public sealed record CifCafDecoderOptions
{
    /// <summary>CIF cells with at least this confidence vote in <see cref="CifHr"/>.</summary>
    public double CifThreshold { get; init; } = 0.3;

    /// <summary>Seed cells need this confidence, and seeds this score.</summary>
    public double SeedThreshold { get; init; } = 0.2;

    /// <summary>CAF cells with at least this confidence become associations.</summary>
    public double CafThreshold { get; init; } = 0.3;

    /// <summary>Associations are kept when their rescored value exceeds this.</summary>
    public double CafScoreThreshold { get; init; } = 0.3;

    /// <summary>A grown joint needs at least this confidence ...</summary>
    public double KeypointThreshold { get; init; } = 0.15;

    /// <summary>... and at least this fraction of the joint it grew from.</summary>
    public double KeypointThresholdRel { get; init; } = 0.5;

    /// <summary>Poses whose mean joint confidence after NMS is below this are dropped.</summary>
    public double InstanceThreshold { get; init; } = 0.15;

    /// <summary>A new joint must lead back to (near) the joint it grew from.</summary>
    public bool ReverseMatch { get; init; } = true;

    /// <summary>Complete every pose for COCO evaluation: regrow with loose associations, copy the rest from a
    /// neighbour with confidence 1e-5, and zero the keypoint and instance thresholds.</summary>
    public bool ForceComplete { get; init; } = true;

    /// <summary>Poses returned per image, best first.</summary>
    public int MaxDetections { get; init; } = 20;
}

/// <summary>One decoded person: K x (x, y, confidence) in input pixels, and the instance score.</summary>
public sealed record DecodedPose(float[] Keypoints, double Score)
{
    public int KeypointCount => Keypoints.Length / 3;

    /// <summary>The pose in COCO results form. Coordinates can be mapped back to the original image first with
    /// <paramref name="scale"/> and <paramref name="offset"/> (original = input x scale + offset).</summary>
    public CocoKeypointResult ToCocoResult(long imageId, double scale = 1, (double X, double Y) offset = default)
    {
        var k = new double[Keypoints.Length];
        for (int i = 0; i < KeypointCount; i++)
        {
            k[3 * i] = Keypoints[3 * i] * scale + offset.X;
            k[3 * i + 1] = Keypoints[3 * i + 1] * scale + offset.Y;
            k[3 * i + 2] = Keypoints[3 * i + 2];
        }
        return new CocoKeypointResult(imageId, k, Score);
    }
}

/// <summary>
/// OpenPifPaf's CIF-CAF decoder: from the activated fields of one image to person poses.
/// <list type="number">
/// <item><see cref="CifHr"/> from CIF cells with conf &gt;= <see cref="CifCafDecoderOptions.CifThreshold"/>.</item>
/// <item>Seeds: CIF cells with conf &gt;= the seed threshold, scored 0.9 CifHr(position) + 0.1 conf (an untouched or
/// outside position counts as -1), kept at score &gt;= the seed threshold, best first.</item>
/// <item><see cref="CafScored"/> forward and backward associations.</item>
/// <item>Each seed whose spot is not yet occupied grows a pose; the pose's joints then occupy their spots.</item>
/// <item>Growth: a max-priority queue of (start joint, end joint) connections, first valued at sqrt(v_start). A popped
/// connection whose end is filled is skipped; an unevaluated one is evaluated and pushed back with its value; an
/// evaluated one is accepted and the new joint's connections join the queue.</item>
/// <item>Evaluation: the associations whose source lies within max(s, 0.5) / 2 of the start joint (s its scale) are
/// weighted w = c exp(-d^2 / (0.5 s^2)); the best two are blended by weight (score 0.5 (w1 + w2)) unless w2 &lt; 0.01,
/// w2 &lt; 0.5 w1 or their targets lie more than s1 / 2 apart (s1 the best target's scale), in which case the best
/// alone counts with score 0.5 w1. Then v = sqrt(score v_start), rejected below the keypoint threshold or below
/// the relative threshold times v_start. The reverse match searches back from the new joint and rejects when it
/// finds nothing or lands more than s_start away (L1) from the start.</item>
/// <item>Force-complete (optional): regrow every pose with associations of conf &gt;= 0.001, no reverse match and a 4x
/// search box, then copy still missing joints from a filled neighbour with v = 1e-5.</item>
/// <item>Keypoint NMS: poses by mean confidence, best first; a joint on a spot already occupied by the same joint
/// type gets v x 1e-5. Then v = 0 at or below the keypoint threshold, and poses with mean v below the instance
/// threshold are dropped.</item>
/// <item>Score: confidences sorted high to low, weighted by the meta's score weights.</item>
/// </list>
/// Not thread-safe (it reuses its maps); use one decoder per thread.
/// </summary>
public sealed class CifCafDecoder
{
    private const double SuppressionFactor = 1e-5;
    private const double CompletedConfidence = 1e-5;
    private const double CompleteCafThreshold = 0.001;
    private const double CompleteSearchFactor = 4.0;

    private readonly CifHr _cifHr = new();
    private readonly Occupancy _occupancy = new();
    private readonly CafScored _cafScored;
    private readonly CafScored _cafComplete;
    private readonly List<(int Limb, bool Forward, int End)>[] _connections;

    public CifCafDecoder(CifCafMeta meta, CifCafDecoderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(meta);
        Meta = meta;
        Options = options ?? new CifCafDecoderOptions();
        if (Options.MaxDetections < 1) throw new ArgumentOutOfRangeException(nameof(options), Options.MaxDetections, "MaxDetections must be at least 1");
        _cafScored = new CafScored(meta.NumLimbs);
        _cafComplete = new CafScored(meta.NumLimbs);
        _connections = new List<(int, bool, int)>[meta.NumKeypoints];
        for (int j = 0; j < meta.NumKeypoints; j++) _connections[j] = [];
        for (int p = 0; p < meta.NumLimbs; p++)
        {
            var (a, b) = meta.Skeleton[p];
            _connections[a].Add((p, true, b));
            _connections[b].Add((p, false, a));
        }
    }

    public CifCafMeta Meta { get; }
    public CifCafDecoderOptions Options { get; }

    /// <summary>The high-resolution maps of the last decoded image.</summary>
    public CifHr CifHr => _cifHr;

    private double KeypointThreshold => Options.ForceComplete ? 0 : Options.KeypointThreshold;
    private double KeypointThresholdRel => Options.ForceComplete ? 0 : Options.KeypointThresholdRel;
    private double InstanceThreshold => Options.ForceComplete ? 0 : Options.InstanceThreshold;

    /// <summary>Decodes a batch of activated head outputs, (N, K, 5, H, W) and (N, L, 8, H, W).</summary>
    public List<List<DecodedPose>> Decode(Tensor cif, Tensor caf, int stride)
    {
        if (cif.Dim != 5 || caf.Dim != 5 || cif.Size(0) != caf.Size(0))
            throw new ArgumentException($"expected batched fields (N, K, 5, H, W) and (N, L, 8, H, W), got ({string.Join(", ", cif.Shape)}) and ({string.Join(", ", caf.Shape)})");
        var result = new List<List<DecodedPose>>();
        for (long i = 0; i < cif.Size(0); i++)
        {
            using var ci = cif[i];
            using var ca = caf[i];
            result.Add(Decode(FieldTensor.FromTensor(ci), FieldTensor.FromTensor(ca), stride));
        }
        return result;
    }

    /// <summary>Decodes one image's activated fields: CIF (K, 5, H, W) = [spread, conf, x, y, scale] and CAF
    /// (L, 8, H, W) = [spread, conf, x1, y1, x2, y2, s1, s2], positions and scales in cells.</summary>
    public List<DecodedPose> Decode(FieldTensor cif, FieldTensor caf, int stride)
    {
        if (cif.Fields != Meta.NumKeypoints || cif.Components != 5)
            throw new ArgumentException($"CIF must be ({Meta.NumKeypoints}, 5, H, W), got ({string.Join(", ", cif.Shape)})");
        if (caf.Fields != Meta.NumLimbs || caf.Components != 8)
            throw new ArgumentException($"CAF must be ({Meta.NumLimbs}, 8, H, W), got ({string.Join(", ", caf.Shape)})");
        if (stride < 1) throw new ArgumentOutOfRangeException(nameof(stride), stride, "must be at least 1");

        _cifHr.Fill(cif, stride, Options.CifThreshold);
        var seeds = Seeds(cif, stride);
        _cafScored.Fill(caf, stride, Meta.Skeleton, _cifHr, Options.CafThreshold, Options.CafScoreThreshold);
        _occupancy.Reset(Meta.NumKeypoints, _cifHr.Height, _cifHr.Width);

        var poses = new List<Joint[]>();
        foreach (var seed in seeds)
        {
            if (_occupancy.Get(seed.Field, seed.X, seed.Y)) continue;
            var joints = new Joint[Meta.NumKeypoints];
            joints[seed.Field] = new Joint(seed.V, seed.X, seed.Y, seed.S);
            Grow(joints, _cafScored, Options.ReverseMatch, 1.0);
            poses.Add(joints);
            for (int j = 0; j < joints.Length; j++)
                if (joints[j].V > 0) _occupancy.Set(j, joints[j].X, joints[j].Y, joints[j].S);
        }

        if (Options.ForceComplete)
        {
            _cafComplete.Fill(caf, stride, Meta.Skeleton, _cifHr, CompleteCafThreshold, 0.0);
            foreach (var joints in poses)
            {
                Grow(joints, _cafComplete, reverseMatch: false, CompleteSearchFactor);
                FloodFill(joints);
            }
        }

        return Finish(poses);
    }

    /// <summary>A joint of a pose being grown: confidence, position and scale in input pixels.</summary>
    public readonly record struct Joint(double V, double X, double Y, double S);

    /// <summary>A seed: joint type, score and position/scale in input pixels.</summary>
    public readonly record struct Seed(int Field, double V, double X, double Y, double S);

    /// <summary>Seeds of the last <see cref="CifHr"/>, best first (ties in field and cell order).</summary>
    public List<Seed> Seeds(FieldTensor cif, int stride)
    {
        var seeds = new List<Seed>();
        int cells = cif.Height * cif.Width;
        var d = cif.Data;
        for (int f = 0; f < cif.Fields; f++)
        {
            int pc = cif.Plane(f, 1), px = cif.Plane(f, 2), py = cif.Plane(f, 3), ps = cif.Plane(f, 4);
            for (int i = 0; i < cells; i++)
            {
                double c = d[pc + i];
                if (!(c >= Options.SeedThreshold)) continue;
                double x = d[px + i] * stride, y = d[py + i] * stride, s = d[ps + i] * stride;
                double v = 0.9 * _cifHr.Value(f, x, y, -1f) + 0.1 * c;
                if (v >= Options.SeedThreshold) seeds.Add(new Seed(f, v, x, y, s));
            }
        }
        // OrderBy is stable: equal scores keep field and cell order.
        return seeds.OrderByDescending(s => s.V).ToList();
    }

    private readonly record struct Frontier(double Priority, long Order, int Start, int End, Joint? Value);

    private sealed class FrontierOrder : IComparer<(double Priority, long Order)>
    {
        public static readonly FrontierOrder Instance = new();

        // PriorityQueue pops the smallest: highest priority first, then first pushed.
        public int Compare((double Priority, long Order) a, (double Priority, long Order) b)
        {
            int c = b.Priority.CompareTo(a.Priority);
            return c != 0 ? c : a.Order.CompareTo(b.Order);
        }
    }

    /// <summary>Grows the pose from its filled joints (greedy, best connection first).</summary>
    public void Grow(Joint[] joints, CafScored caf, bool reverseMatch, double searchFactor)
    {
        var queue = new PriorityQueue<Frontier, (double, long)>(FrontierOrder.Instance);
        var inFrontier = new HashSet<(int, int)>();
        long order = 0;

        void AddConnections(int start)
        {
            foreach (var (_, _, end) in _connections[start])
            {
                if (joints[end].V > 0 || !inFrontier.Add((start, end))) continue;
                double priority = Math.Sqrt(joints[start].V);
                queue.Enqueue(new Frontier(priority, order, start, end, null), (priority, order));
                order++;
            }
        }

        for (int j = 0; j < joints.Length; j++)
            if (joints[j].V > 0) AddConnections(j);

        while (queue.TryDequeue(out var entry, out _))
        {
            if (joints[entry.End].V > 0) continue;
            if (entry.Value is { } accepted)
            {
                joints[entry.End] = accepted;
                AddConnections(entry.End);
                continue;
            }
            var value = ConnectionValue(joints, caf, entry.Start, entry.End, reverseMatch, searchFactor);
            if (value.V <= 0) continue;
            queue.Enqueue(entry with { Priority = value.V, Order = order, Value = value }, (value.V, order));
            order++;
        }
    }

    /// <summary>The joint that the connection start -&gt; end proposes, or a joint with V = 0 when it is rejected.</summary>
    public Joint ConnectionValue(Joint[] joints, CafScored caf, int start, int end, bool reverseMatch, double searchFactor)
    {
        List<Association>? forward = null, backward = null;
        foreach (var (limb, isForward, to) in _connections[start])
        {
            if (to != end) continue;
            forward = isForward ? caf.Forward[limb] : caf.Backward[limb];
            backward = isForward ? caf.Backward[limb] : caf.Forward[limb];
            break;
        }
        if (forward is null || backward is null) return default;

        var from = joints[start];
        var found = Blend(forward, from.X, from.Y, from.S, searchFactor);
        if (found.V <= 0) return default;
        double v = Math.Sqrt(found.V * from.V);
        if (v < KeypointThreshold || v < KeypointThresholdRel * from.V) return default;
        var next = found with { V = v };
        if (reverseMatch)
        {
            var back = Blend(backward, next.X, next.Y, next.S, searchFactor);
            if (back.V <= 0) return default;
            if (Math.Abs(from.X - back.X) + Math.Abs(from.Y - back.Y) > from.S) return default;
        }
        return next;
    }

    /// <summary>The target the associations near (x, y) agree on, with its score (see the class remarks).</summary>
    public static Joint Blend(List<Association> entries, double x, double y, double scale, double searchFactor = 1.0)
    {
        double s = Math.Max(scale, 0.5);
        double half = s / 2 * searchFactor;
        double sigma2 = 0.25 * s * s;
        double w1 = 0, w2 = 0;
        Association e1 = default, e2 = default;
        foreach (var e in entries)
        {
            if (e.X1 < x - half || e.X1 > x + half || e.Y1 < y - half || e.Y1 > y + half) continue;
            double d2 = (e.X1 - x) * (e.X1 - x) + (e.Y1 - y) * (e.Y1 - y);
            double w = e.C * Math.Exp(-0.5 * d2 / sigma2);
            if (w > w1)
            {
                (w2, e2) = (w1, e1);
                (w1, e1) = (w, e);
            }
            else if (w > w2)
            {
                (w2, e2) = (w, e);
            }
        }
        if (w1 <= 0) return default;
        if (w2 < 0.01 || w2 < 0.5 * w1) return new Joint(0.5 * w1, e1.X2, e1.Y2, e1.S2);
        double gap2 = (e1.X2 - e2.X2) * (e1.X2 - e2.X2) + (e1.Y2 - e2.Y2) * (e1.Y2 - e2.Y2);
        if (gap2 > e1.S2 * e1.S2 / 4.0) return new Joint(0.5 * w1, e1.X2, e1.Y2, e1.S2);
        double sum = w1 + w2;
        return new Joint(0.5 * sum, (w1 * e1.X2 + w2 * e2.X2) / sum, (w1 * e1.Y2 + w2 * e2.Y2) / sum, (w1 * e1.S2 + w2 * e2.S2) / sum);
    }

    /// <summary>Copies each missing joint from a filled neighbour (most confident first) with confidence 1e-5.</summary>
    private void FloodFill(Joint[] joints)
    {
        var queue = new PriorityQueue<(int Start, int End), (double, long)>(FrontierOrder.Instance);
        long order = 0;
        void Add(int start)
        {
            foreach (var (_, _, end) in _connections[start])
                if (joints[end].V <= 0) queue.Enqueue((start, end), (joints[start].V, order++));
        }
        for (int j = 0; j < joints.Length; j++)
            if (joints[j].V > 0) Add(j);
        while (queue.TryDequeue(out var c, out _))
        {
            if (joints[c.End].V > 0) continue;
            var from = joints[c.Start];
            joints[c.End] = new Joint(CompletedConfidence, from.X, from.Y, from.S);
            Add(c.End);
        }
    }

    private List<DecodedPose> Finish(List<Joint[]> poses)
    {
        // Keypoint NMS, best poses first.
        var ordered = poses.OrderByDescending(p => p.Average(j => j.V)).ToList();
        _occupancy.Reset(Meta.NumKeypoints, _cifHr.Height, _cifHr.Width);
        foreach (var joints in ordered)
            for (int j = 0; j < joints.Length; j++)
            {
                if (joints[j].V <= 0) continue;
                if (_occupancy.Get(j, joints[j].X, joints[j].Y)) joints[j] = joints[j] with { V = joints[j].V * SuppressionFactor };
                else _occupancy.Set(j, joints[j].X, joints[j].Y, joints[j].S);
            }

        var result = new List<DecodedPose>();
        double weightSum = Meta.ScoreWeights.Sum();
        foreach (var joints in ordered)
        {
            for (int j = 0; j < joints.Length; j++)
                if (joints[j].V <= KeypointThreshold) joints[j] = joints[j] with { V = 0 };
            if (joints.All(j => j.V <= 0) || joints.Average(j => j.V) < InstanceThreshold) continue;
            var sorted = joints.Select(j => j.V).OrderByDescending(v => v).ToArray();
            double score = 0;
            for (int j = 0; j < sorted.Length; j++) score += Meta.ScoreWeights[j] * sorted[j];
            var k = new float[3 * joints.Length];
            for (int j = 0; j < joints.Length; j++)
            {
                k[3 * j] = (float)joints[j].X;
                k[3 * j + 1] = (float)joints[j].Y;
                k[3 * j + 2] = (float)joints[j].V;
            }
            result.Add(new DecodedPose(k, score / weightSum));
        }
        return result.OrderByDescending(p => p.Score).Take(Options.MaxDetections).ToList();
    }
}
