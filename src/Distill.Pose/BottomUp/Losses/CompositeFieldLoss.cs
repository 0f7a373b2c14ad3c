using Distill.Torch;

namespace Distill.Pose.BottomUp.Losses;

/// <summary>
/// OpenPifPaf's loss of one composite field head, three named terms, each a sum over cells divided by the batch size
/// (the total is their plain sum):
/// <list type="bullet">
/// <item><c>{name}.c</c>, confidence, on cells whose target is not NaN: with sgn = +1 for a positive target and -1
/// otherwise, p = 1 / (1 + exp(sgn x)) and focal factor F = 0.5 (p + (1 - p) softplus(-sgn x)), the loss is
/// SmoothL1(x, x + sgn p F) against the detached second argument; background cells with x &lt; -15 give 0; then the
/// soft clamp; positives become 0.5 l exp(-L) + 0.5 L with the learned spread L = 3 tanh(x0 / 3).</item>
/// <item><c>{name}.vec</c>, Laplace on cells with a finite vector target: d = sqrt(dx^2 + dy^2 + bmin^2) (bmin 0.1
/// where NaN), l = clamp(d / (0.5 scale)) with the target scale (the detached predicted one where NaN), then
/// l exp(-log b) + log b with log b = 0.5 L + ln 2; every vector of a field shares that field's L.</item>
/// <item><c>{name}.scales</c> on cells with a finite scale target: SmoothL1(clamp(|softplus(x) - t| / (b (0.1 + t))), 0),
/// b = <see cref="ScaleB"/>.</item>
/// </list>
/// The soft clamp keeps values up to 5 and maps l &gt; 5 to 5 + ln(l - 4). Prediction layout (N, F, 2 + 2V + S, H, W) =
/// [spread, conf, vectors, scales] (raw, as the head returns in training); target layout (N, F, 1 + 3V + S, H, W) =
/// [conf, vectors, bmins, scales] (as the encoders write).
/// </summary>
public sealed class CompositeFieldLoss
{
    public const double SoftClampValue = 5.0;
    public const double BackgroundCutoff = -15.0;

    public CompositeFieldLoss(string name, int vectors, int scales, double scaleB = 1.0)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (vectors < 0 || scales < 0) throw new ArgumentException("vector and scale counts must not be negative");
        if (!(scaleB > 0)) throw new ArgumentOutOfRangeException(nameof(scaleB), scaleB, "must be positive");
        Name = name;
        Vectors = vectors;
        Scales = scales;
        ScaleB = scaleB;
    }

    public static CompositeFieldLoss Cif(double scaleB = 1.0) => new("cif", 1, 1, scaleB);

    public static CompositeFieldLoss Caf(double scaleB = 1.0) => new("caf", 2, 2, scaleB);

    public string Name { get; }
    public int Vectors { get; }
    public int Scales { get; }

    /// <summary>OpenPifPaf's <c>--b-scale</c>: the relative tolerance of the scale loss.</summary>
    public double ScaleB { get; }

    /// <summary>The names of the three terms, in the order <see cref="Forward"/> returns them.</summary>
    public string[] TermNames => [$"{Name}.c", $"{Name}.vec", $"{Name}.scales"];

    public Dictionary<string, Tensor> Forward(Tensor prediction, Tensor target)
    {
        int pc = 2 + 2 * Vectors + Scales, tc = 1 + 3 * Vectors + Scales;
        if (prediction.Dim != 5 || prediction.Size(2) != pc)
            throw new ArgumentException($"{Name} loss: prediction must be (N, F, {pc}, H, W), got ({string.Join(", ", prediction.Shape)})");
        if (target.Dim != 5 || target.Size(2) != tc)
            throw new ArgumentException($"{Name} loss: target must be (N, F, {tc}, H, W), got ({string.Join(", ", target.Shape)})");
        var ps = prediction.Shape;
        var ts = target.Shape;
        if (ps[0] != ts[0] || ps[1] != ts[1] || ps[3] != ts[3] || ps[4] != ts[4])
            throw new ArgumentException($"{Name} loss: prediction ({string.Join(", ", ps)}) and target ({string.Join(", ", ts)}) differ in batch, fields or size");
        double batch = ps[0];

        using var scope = torch.NewDisposeScope();
        var x = prediction;
        var t = target.To(prediction.DType, prediction.Device);
        var spread = x.Select(2, 0);

        var c = ConfidenceLoss(x.Select(2, 1), t.Select(2, 0), spread).Div(batch);

        var vec = torch.Zeros([], prediction.DType, prediction.Device);
        for (int v = 0; v < Vectors; v++)
        {
            var predScale = Scales > v ? x.Select(2, 2 + 2 * Vectors + v) : null;
            vec = vec + VectorLoss(x.Narrow(2, 2 + 2 * v, 2), t.Narrow(2, 1 + 2 * v, 2), t.Select(2, 1 + 2 * Vectors + v),
                t.Select(2, 1 + 3 * Vectors + v), predScale, spread);
        }
        vec = vec.Div(batch);

        var scales = torch.Zeros([], prediction.DType, prediction.Device);
        for (int s = 0; s < Scales; s++)
            scales = scales + ScaleLoss(x.Select(2, 2 + 2 * Vectors + s), t.Select(2, 1 + 3 * Vectors + s));
        scales = scales.Div(batch);

        return new Dictionary<string, Tensor>
        {
            [$"{Name}.c"] = c.MoveToOuterDisposeScope(),
            [$"{Name}.vec"] = vec.MoveToOuterDisposeScope(),
            [$"{Name}.scales"] = scales.MoveToOuterDisposeScope(),
        };
    }

    /// <summary>l for l &lt;= 5, else 5 + ln(l - 4); continuous, and slow to grow for outliers.</summary>
    public static Tensor SoftClamp(Tensor l)
    {
        using var scope = torch.NewDisposeScope();
        // The log branch reads max(l - 4, 1) so that it is finite (and its gradient zero) where it is not taken.
        var clamped = (l - (SoftClampValue - 1)).ClampMin(1).Log() + SoftClampValue;
        return torch.Where(l.Gt(SoftClampValue), clamped, l).MoveToOuterDisposeScope();
    }

    /// <summary>The learned spread of a field, L = 3 tanh(x0 / 3).</summary>
    public static Tensor Spread(Tensor x0) => (x0 / 3.0).Tanh() * 3.0;

    private static Tensor ConfidenceLoss(Tensor x, Tensor t, Tensor spread)
    {
        var mask = t.IsNan().LogicalNot();
        var xs = x.MaskedSelect(mask);
        var ts = t.MaskedSelect(mask);
        var positive = ts.Gt(0);
        var sgn = torch.Where(positive, torch.OnesLike(ts), torch.FullLike(ts, -1));
        Tensor shifted;
        using (Autograd.NoGrad())
        {
            var sx = sgn * xs.Detach();
            var p = sx.Sigmoid().RSub(1); // 1 / (1 + exp(sgn x))
            var focal = (p + p.RSub(1) * sx.Neg().Softplus()) * 0.5;
            shifted = xs.Detach() + sgn * p * focal;
        }
        var l = Distill.Torch.Functional.SmoothL1Loss(xs, shifted, Reduction.None);
        l = l.MaskedFill(positive.LogicalNot().LogicalAnd(xs.Lt(BackgroundCutoff)), 0);
        l = SoftClamp(l);
        var L = Spread(spread.MaskedSelect(mask));
        l = torch.Where(positive, l * L.Neg().Exp() * 0.5 + L * 0.5, l);
        return l.Sum();
    }

    private static Tensor VectorLoss(Tensor xy, Tensor txy, Tensor bmin, Tensor tScale, Tensor? predScale, Tensor spread)
    {
        var tx = txy.Select(2, 0);
        var ty = txy.Select(2, 1);
        var mask = tx.IsFinite().LogicalAnd(ty.IsFinite());
        var dx = xy.Select(2, 0).MaskedSelect(mask) - tx.MaskedSelect(mask);
        var dy = xy.Select(2, 1).MaskedSelect(mask) - ty.MaskedSelect(mask);
        var b = bmin.MaskedSelect(mask);
        b = torch.Where(b.IsNan(), torch.FullLike(b, 0.1), b);
        var d = (dx.Square() + dy.Square() + b.Square()).Sqrt();
        var s = tScale.MaskedSelect(mask);
        if (predScale is not null)
        {
            var fallback = predScale.Detach().MaskedSelect(mask).Softplus();
            s = torch.Where(s.IsNan(), fallback, s);
        }
        var l = SoftClamp(d / (s * 0.5));
        var logb = Spread(spread.MaskedSelect(mask)) * 0.5 + Math.Log(2);
        l = l * logb.Neg().Exp() + logb;
        return l.Sum();
    }

    private Tensor ScaleLoss(Tensor x, Tensor t)
    {
        var mask = t.IsFinite();
        var ts = t.MaskedSelect(mask);
        var rel = (x.MaskedSelect(mask).Softplus() - ts).Abs() / ((ts + 0.1) * ScaleB);
        var l = SoftClamp(rel);
        return Distill.Torch.Functional.SmoothL1Loss(l, torch.ZerosLike(l), Reduction.None).Sum();
    }
}
