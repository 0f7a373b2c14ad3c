namespace Distill.Torch.Optim;

/// <summary>
/// Dynamic loss scaling for float16 training (torch.amp.GradScaler): the loss is multiplied by <see cref="Scale"/>
/// before backward so that small gradients survive float16; <see cref="Unscale"/> divides the gradients back and
/// reports whether they are all finite. A step with overflowing gradients is skipped and the scale halved; after
/// <see cref="GrowthInterval"/> good steps in a row it doubles.
/// </summary>
public sealed class GradScaler(double initScale = 65536.0, double growthFactor = 2.0, double backoffFactor = 0.5, int growthInterval = 2000)
{
    public double Scale { get; private set; } = initScale;
    public int GrowthInterval { get; } = growthInterval;
    private int _goodSteps;

    public Tensor ScaleLoss(Tensor loss) => loss * Scale;

    /// <summary>Divides every gradient of <paramref name="parameters"/> by the scale in place; false when any is inf or NaN.</summary>
    public bool Unscale(IEnumerable<Tensor> parameters)
    {
        bool finite = true;
        double inverse = 1.0 / Scale;
        foreach (var p in parameters)
        {
            using var g = p.Grad;
            if (g is null) continue;
            g.Mul_(inverse);
            // inf and NaN both make the sum non-finite (inf + -inf is NaN).
            using var s = g.Sum();
            if (!double.IsFinite(s.ItemDouble())) finite = false;
        }
        return finite;
    }

    /// <summary>After a step: halves the scale when the gradients overflowed, doubles it after enough good steps.</summary>
    public void Update(bool finite)
    {
        if (!finite)
        {
            Scale *= backoffFactor;
            _goodSteps = 0;
        }
        else if (++_goodSteps >= GrowthInterval)
        {
            Scale *= growthFactor;
            _goodSteps = 0;
        }
    }
}
